// go_child: the Go program the seccomp launcher's test runs under `faultline exec` (a static
// binary, which no LD_PRELOAD reaches). It makes N operations and prints what came back, in
// syscall_child's words, so the test can hold the launcher's counts against what Go itself saw:
//
//	go_child dial N        dials a listener of its own on 127.0.0.1 N times (one connect system
//	                       call each); a failed dial is one the fault refused
//	go_child write N FILE  writes one byte to FILE N times with os.File.Write
//
// It prints failed=F errno=NAME first=I last=I hash=H (H: FNV-1a of the failed operations'
// indices, from 1) and exits 0.
package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
)

var errnoNames = map[syscall.Errno]string{
	syscall.ECONNREFUSED: "ECONNREFUSED", syscall.EIO: "EIO", syscall.ETIMEDOUT: "ETIMEDOUT",
	syscall.ENOSPC: "ENOSPC", syscall.ENETUNREACH: "ENETUNREACH", syscall.EINTR: "EINTR",
}

func errnoName(err error) string {
	var e syscall.Errno
	if !errors.As(err, &e) {
		return "not-an-errno:" + err.Error()
	}
	if name, ok := errnoNames[e]; ok {
		return name
	}
	return "errno" + strconv.Itoa(int(e))
}

func main() {
	if len(os.Args) < 3 || (os.Args[1] == "write" && len(os.Args) != 4) {
		fmt.Fprintln(os.Stderr, "usage: go_child dial N | write N FILE")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 1 || n > 1000000 {
		fmt.Fprintln(os.Stderr, "go_child: N must be 1 to 1000000")
		os.Exit(2)
	}
	var op func() error
	switch os.Args[1] {
	case "dial":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, "go_child: listen:", err)
			os.Exit(1)
		}
		go func() { // accept and drop: a dial that connected succeeded
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		addr := ln.Addr().String()
		op = func() error {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
			}
			return err
		}
	case "write":
		f, err := os.Create(os.Args[3])
		if err != nil {
			fmt.Fprintln(os.Stderr, "go_child: create:", err)
			os.Exit(1)
		}
		defer f.Close()
		op = func() error { _, err := f.Write([]byte("x")); return err }
	default:
		fmt.Fprintln(os.Stderr, "go_child: no operation", os.Args[1])
		os.Exit(2)
	}
	failed, first, last, seen := 0, 0, 0, "none"
	hash := uint64(1469598103934665603)
	for i := 1; i <= n; i++ {
		if err := op(); err != nil {
			failed, last, seen = failed+1, i, errnoName(err)
			if first == 0 {
				first = i
			}
			hash = (hash ^ uint64(i)) * 1099511628211
		}
	}
	fmt.Printf("failed=%d errno=%s first=%d last=%d hash=%016x\n", failed, seen, first, last, hash)
}
