// One goroutine writes a map while another reads it.
// Expect: fatal error: concurrent map read and map write
package main

import "fmt"

//go:noinline
func storeSession(m map[int]int, k int) { m[k] = k }

//go:noinline
func lookupSession(m map[int]int, k int) int { return m[k] }

func main() {
	sessions := map[int]int{}
	go func() {
		for i := 0; ; i++ {
			storeSession(sessions, i%1000)
		}
	}()
	sum := 0
	for i := 0; ; i++ {
		sum += lookupSession(sessions, i%1000)
		if sum < 0 {
			break
		}
	}
	fmt.Println("DONE")
}
