// Seed 000's client (shared/seeds/000), built with -race: N goroutines each dial the server and
// call Arith.Divide with client.Go, wait 1 ms, close the client on timeout and then read
// reply.Quotient, which the client's input goroutine may still be decoding into. The race
// detector prints "WARNING: DATA RACE" when it sees that; that line is the symptom.
//
// Changes from the seed, all for the harness's rules: the server's address is a flag (the seed:
// ":8080"); main waits for the N goroutines and then returns (the seed: select {} forever), and
// gives up after -limit whatever happens. N and the timeout are the seed's by default.
package main

import (
	"flag"
	"fmt"
	"net/rpc"
	"os"
	"sync"
	"time"
)

type Args struct {
	A, B int
}

type Result struct {
	A, B     int
	Quotient map[string]int
}

var (
	addr    = flag.String("addr", "127.0.0.1:8080", "the seed000 server (127.0.0.1 only)")
	n       = flag.Int("n", 1000, "goroutines, each dialing and making one call (seed: 1000)")
	timeout = flag.Duration("timeout", time.Millisecond, "per-call timeout (seed: 1 ms)")
	limit   = flag.Duration("limit", 20*time.Second, "exit 3 if the goroutines are not done by then")
)

func main() {
	flag.Parse()
	time.AfterFunc(*limit, func() {
		fmt.Fprintln(os.Stderr, "seed000-client: time limit reached")
		os.Exit(3)
	})
	var wg sync.WaitGroup
	for i := 0; i < *n; i++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			doRPC(id)
		}(i)
	}
	wg.Wait()
}

func doRPC(id int) {
	c, err := rpc.Dial("tcp", *addr)
	if err != nil {
		fmt.Println("dial: ", err)
		return
	}

	arg := Args{10, 3}
	res := new(Result)
	sm := "Arith.Divide"
	select {
	case resCall := <-c.Go(sm, arg, res, nil).Done:
		if resCall.Error != nil {
			fmt.Println("rpc: ", resCall.Error)
		} else {
			fmt.Println(id, " do rpc successfully")
		}
		c.Close()
	case <-time.After(*timeout):
		fmt.Println(id, " do rpc timeout")
		c.Close() // timeout后关闭client (the seed's: close the client after the timeout)
	}

	if len(res.Quotient) == 0 { // race may occur (the seed's line)
		for k, v := range res.Quotient {
			fmt.Println("k: ", k, " v: ", v)
		}
	}
}
