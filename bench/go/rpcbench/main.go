// Go's net/rpc, the peer of faultline's RPC stack (servers/rpc) in scripts/bench-vs-go.sh: the
// same service (Arith.Divide: {A, B} -> {A, B, Quotient: {"Quo", "Rem"}}, seed 000's shape),
// server and client in one process over 127.0.0.1, as bench/go/native/fl_rpc_load.cpp runs
// faultline's.
//
// Closed loop: -conns connections (rpc.Dial each), one caller goroutine per connection making
// one synchronous client.Call at a time for -seconds. Prints one line of JSON: calls, calls/s,
// and the round trip (each call's latency: p50, p99, mean).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/rpc"
	"os"
	"sort"
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

type Arith int

func (t *Arith) Divide(args *Args, reply *Result) error {
	if args.B == 0 {
		return errors.New("divide by zero")
	}
	reply.A = args.A
	reply.B = args.B
	reply.Quotient = map[string]int{
		"Quo": args.A / args.B,
		"Rem": args.A % args.B,
	}
	return nil
}

const maxSamplesPerCaller = 1 << 20

func main() {
	conns := flag.Int("conns", 1, "connections, one caller each (1..1024)")
	seconds := flag.Float64("seconds", 3, "length of the measurement (0..60]")
	flag.Parse()
	if *conns < 1 || *conns > 1024 || !(*seconds > 0 && *seconds <= 60) {
		fmt.Fprintln(os.Stderr, "rpcbench: -conns in 1..1024, -seconds in (0, 60]")
		os.Exit(2)
	}

	server := rpc.NewServer()
	if err := server.Register(new(Arith)); err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go server.ServeConn(c)
		}
	}()

	clients := make([]*rpc.Client, *conns)
	for i := range clients {
		if clients[i], err = rpc.Dial("tcp", ln.Addr().String()); err != nil {
			panic(err)
		}
	}
	samples := make([][]time.Duration, *conns)
	failed := make([]int, *conns)
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(time.Duration(*seconds * float64(time.Second)))
	for i := range clients {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			mine := make([]time.Duration, 0, 4096)
			for time.Now().Before(end) && len(mine) < maxSamplesPerCaller {
				var reply Result
				t0 := time.Now()
				err := clients[i].Call("Arith.Divide", Args{10, 3}, &reply)
				d := time.Since(t0)
				if err != nil || reply.Quotient["Quo"] != 3 || reply.Quotient["Rem"] != 1 {
					failed[i]++
					continue
				}
				mine = append(mine, d)
			}
			samples[i] = mine
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	for _, c := range clients {
		c.Close()
	}
	ln.Close()

	var all []time.Duration
	nfailed := 0
	for i := range samples {
		all = append(all, samples[i]...)
		nfailed += failed[i]
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		k := int(p / 100 * float64(len(all)))
		if k >= len(all) {
			k = len(all) - 1
		}
		return float64(all[k].Nanoseconds()) / 1000
	}
	var sum time.Duration
	for _, d := range all {
		sum += d
	}
	mean := 0.0
	if len(all) > 0 {
		mean = float64(sum.Nanoseconds()) / float64(len(all)) / 1000
	}
	out, _ := json.Marshal(map[string]interface{}{
		"stack": "go-net-rpc", "conns": *conns, "calls": len(all), "failed": nfailed,
		"seconds": elapsed, "calls_per_s": float64(len(all)) / elapsed,
		"p50_us": pct(50), "p99_us": pct(99), "mean_us": mean,
	})
	fmt.Println(string(out))
}
