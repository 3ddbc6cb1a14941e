// A nil map is written.
// Expect: panic: assignment to entry in nil map; top frame main.registerPeer.
package main

import "fmt"

type Registry struct {
	peers map[string]int
}

//go:noinline
func (r *Registry) registerPeer(name string) { r.peers[name] = len(name) }

func main() {
	var r Registry
	r.registerPeer("alpha")
	fmt.Println("DONE")
}
