// main waits on a channel nobody will ever send on.
// Expect: fatal error: all goroutines are asleep - deadlock!
package main

import "fmt"

//go:noinline
func awaitReply(replies chan int) int { return <-replies }

func main() {
	replies := make(chan int)
	fmt.Println(awaitReply(replies))
	fmt.Println("DONE")
}
