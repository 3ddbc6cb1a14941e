// Two goroutines bump a shared counter without a lock.
// Expect: WARNING: DATA RACE; top frame main.bumpHits.
package main

import (
	"fmt"
	"sync"
)

var hits int

//go:noinline
func bumpHits() { hits++ }

func main() {
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bumpHits()
		}()
	}
	wg.Wait()
	fmt.Println("hits", hits)
	fmt.Println("DONE")
}
