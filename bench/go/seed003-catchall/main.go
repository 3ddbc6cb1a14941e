// Seed 003, part 1 (shared/seeds/003): a function guarded by defer recover() starts goroutines
// that write one map with no lock. The runtime ends the process with "fatal error: concurrent
// map writes", which no recover() sees; that line is the symptom (and "WARNING: DATA RACE"
// under -race).
//
// The seed's code, with its unbounded loop bounded for the harness's rules: at most -tasks
// goroutines (faultline's catchall-fatal submits 500000 tasks) and -limit of time; a run that
// survives both prints "survived" and exits 0.
package main

import (
	"flag"
	"fmt"
	"time"
)

var tasks = flag.Int("tasks", 500000, "goroutines started, each writing the map once")
var limit = flag.Duration("limit", 5*time.Second, "stop starting goroutines after this")

func concurrentMapWrite() {
	defer func() {
		if err := recover(); err != nil {
			fmt.Printf("Panic occurred due to %+v, Recovered in f", err)
		}
	}()
	m := map[int]int{}
	idx := 0
	deadline := time.Now().Add(*limit)
	for idx < *tasks && (idx%1024 != 0 || time.Now().Before(deadline)) {
		go func() {
			m[idx] = 1
		}()
		idx++
	}
	time.Sleep(100 * time.Millisecond) // let the last goroutines run before saying so
	fmt.Println("survived", idx, "goroutines")
}

func main() {
	flag.Parse()
	concurrentMapWrite()
}
