// A lost update in Go, for faultline exec: goroutines count hits per page in a shared slice
// guarded by nothing (buggy) or by a sync.Mutex (fixed), as an HTTP handler that bumps a stats
// table would. Judged two ways (docs/exec.md):
//   - built with -race, by the race detector's report (faultline's symptom data_race);
//   - built without it, by the exit code: 1 when hits were lost, with a line lost=N.
//
// (A map in place of the slice would die of the runtime's "fatal error: concurrent map
// writes" first, which faultline reads as symptom concurrent_map_writes: the seeds' incidents.)
//
//	go build -race -o lost_update_race . && faultline exec --expect data_race -- ./lost_update_race
//	go build -o lost_update . && faultline exec --fail-exit 1 --repeat 10 -- ./lost_update
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// The stats line a handler writes for a hit: the work between its read and its write, which
// is what lets a preemption (one core) or another core's store (two) fall inside the window.
func stats(page, n int) string {
	return "page " + strconv.Itoa(page) + " hit " + strconv.Itoa(n+1)
}

func main() {
	variant := flag.String("variant", "buggy", "buggy or fixed")
	workers := flag.Int("workers", 4, "goroutines counting hits")
	ms := flag.Int("ms", 200, "milliseconds each goroutine keeps counting hits")
	pages := flag.Int("pages", 8, "pages the hits are spread over")
	flag.Parse()
	if *variant != "buggy" && *variant != "fixed" {
		fmt.Fprintf(os.Stderr, "lost_update: -variant takes buggy or fixed, not %q\n", *variant)
		os.Exit(2)
	}

	counts := make([]int, *pages)
	served := make([]int, *workers) // each goroutine's own tally of the hits it counted
	bytes := make([]int, *workers)  // and of the stats it wrote
	var mu sync.Mutex
	var start, done sync.WaitGroup
	start.Add(1)
	deadline := time.Now().Add(time.Duration(*ms) * time.Millisecond)
	for w := 0; w < *workers; w++ {
		done.Add(1)
		go func(w int) {
			defer done.Done()
			start.Wait()
			// Bounded by time, not count: the goroutines overlap however late the scheduler
			// starts some of them.
			for i := uint64(w); ; i += uint64(*workers) {
				if i%1024 < uint64(*workers) && time.Now().After(deadline) {
					return
				}
				page := int((i * 0x9E3779B97F4A7C15 >> 32) % uint64(*pages))
				if *variant == "fixed" {
					mu.Lock() // FIX: one read-modify-write at a time
				}
				n := counts[page]      // BUG: another goroutine's write between here and the store is lost
				line := stats(page, n) // the handler formats its stats line in between
				counts[page] = n + 1
				bytes[w] += len(line)
				if *variant == "fixed" {
					mu.Unlock()
				}
				served[w]++
			}
		}(w)
	}
	start.Done()
	done.Wait()

	hits, total := 0, 0
	for _, n := range served {
		hits += n
	}
	for _, n := range counts {
		total += n
	}
	lost := hits - total
	fmt.Printf("hits=%d counted=%d lost=%d\n", hits, total, lost)
	if lost > 0 {
		os.Exit(1)
	}
}
