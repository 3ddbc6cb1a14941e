// One goroutine ranges over a map while another writes it.
// Expect: fatal error: concurrent map iteration and map write
package main

import "fmt"

//go:noinline
func storeSession(m map[int]int, k int) { m[k] = k }

//go:noinline
func countSessions(m map[int]int) int {
	n := 0
	for range m {
		n++
	}
	return n
}

func main() {
	sessions := map[int]int{}
	for i := 0; i < 100; i++ {
		sessions[i] = i
	}
	go func() {
		for i := 0; ; i++ {
			storeSession(sessions, i%1000)
		}
	}()
	total := 0
	for {
		total += countSessions(sessions)
		if total < 0 {
			break
		}
	}
	fmt.Println("DONE")
}
