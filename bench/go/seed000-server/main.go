// Seed 000's server (shared/seeds/000): net/rpc serving Arith.Divide, one goroutine per
// connection. As in the write-up, it runs without -race; only the client is instrumented.
//
// Changes from the seed, all for the harness's rules: it binds 127.0.0.1 on a port the kernel
// picks (the seed: ":8080") and prints "listening on 127.0.0.1:PORT" first so the script can
// read the port; it exits by itself after -lifetime (bounded); the seed's per-connection
// "serve conn: N" line is kept.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/rpc"
	"os"
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

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on (127.0.0.1 only)")
	lifetime := flag.Duration("lifetime", 30*time.Minute, "exit after this long")
	flag.Parse()

	arith := new(Arith)
	rpc.Register(arith)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Println("listen error: ", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	time.AfterFunc(*lifetime, func() { os.Exit(0) })

	cnt := 0
	for {
		conn, err := ln.Accept()
		if err != nil {
			fmt.Println("accept: ", err)
			continue
		}
		fmt.Println("serve conn: ", cnt)
		go rpc.ServeConn(conn)
		cnt++
	}
}
