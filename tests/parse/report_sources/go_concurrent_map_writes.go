// Two goroutines write one map without a lock; the runtime's map check stops the program.
// Expect: fatal error: concurrent map writes
package main

import "fmt"

//go:noinline
func storeSession(m map[int]int, k int) { m[k] = k }

func main() {
	sessions := map[int]int{}
	for w := 0; w < 2; w++ {
		go func() {
			for i := 0; ; i++ {
				storeSession(sessions, i%1000)
			}
		}()
	}
	select {}
	fmt.Println("DONE")
}
