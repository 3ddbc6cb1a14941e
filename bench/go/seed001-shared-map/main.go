// Seed 001 (shared/seeds/001) as a program: request handlers run getFeatureMap, which for every
// filter rule does
//
//	param := filterRule.FilterMap            // the global rule's map itself, not a copy
//	param["driver_id"] = strconv.FormatInt(driverId, 10)
//	BuildKeyList(domain, keys, param)        // json.Marshal(params) iterates it
//
// while other requests do the same: "fatal error: concurrent map iteration and map write"
// without -race, "WARNING: DATA RACE" under -race. Both lines come from the Go runtime, and are
// the symptom. -variant fixed uses the write-up's DeepCopyMap and must stay quiet.
//
// The scale is faultline's shared-map-iteration defaults (8 workers, 4000 requests, 4 filter
// rules of 8 keys each, driver ids of 1 to 19 digits), so both sides do the same work. Bounded:
// the requests run out, or -limit passes.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"sync"
	"time"
)

type FiltersType struct {
	Name      string
	FilterMap map[string]string
}

// The global rule table, loaded once at start-up as a configuration would be.
var filters []*FiltersType

var deepCopy bool

// The seed's DeepCopyMap: the fix.
func DeepCopyMap(params map[string]string) map[string]string {
	result := map[string]string{}
	for k, v := range params {
		result[k] = v
	}
	return result
}

// The seed's FeatureClient.BuildKeyList, reduced to what matters: marshal the params.
func BuildKeyList(domain string, keys []string, params map[string]string) (featureKeys []string, err error) {
	var jsonParams string
	if params == nil || len(params) == 0 {
		jsonParams = "{}"
	}
	if jsonParamsByte, e := json.Marshal(params); e == nil {
		jsonParams = string(jsonParamsByte)
	} else {
		return nil, e
	}
	for _, k := range keys {
		featureKeys = append(featureKeys, domain+":"+k+":"+jsonParams)
	}
	return featureKeys, nil
}

// The seed's getFeatureMap (calc_plan.go).
func getFeatureMap(driverId int64) []string {
	var features []string
	for _, filterRule := range filters {
		param := filterRule.FilterMap
		if deepCopy {
			param = DeepCopyMap(filterRule.FilterMap)
		}
		param["driver_id"] = strconv.FormatInt(driverId, 10)
		featureKeys, _ := BuildKeyList("domain", []string{"key"}, param)
		features = append(features, featureKeys...)
	}
	return features
}

func randomDriverID(rng *rand.Rand) int64 {
	digits := 1 + rng.Intn(18) // int64 holds 18 full digits
	low := int64(1)
	for i := 1; i < digits; i++ {
		low *= 10
	}
	return low + rng.Int63n(low*9)
}

func main() {
	workers := flag.Int("workers", 8, "goroutines serving requests")
	requests := flag.Int("requests", 4000, "requests in the run, split over the workers")
	nfilters := flag.Int("filters", 4, "global filter rules")
	keys := flag.Int("keys", 8, "entries in each rule's map besides driver_id")
	variant := flag.String("variant", "buggy", "buggy (the shared map) or fixed (DeepCopyMap)")
	limit := flag.Duration("limit", 8*time.Second, "workers stop taking requests after this")
	flag.Parse()
	if *variant != "buggy" && *variant != "fixed" {
		fmt.Fprintln(os.Stderr, "-variant buggy|fixed")
		os.Exit(2)
	}
	deepCopy = *variant == "fixed"
	for r := 0; r < *nfilters; r++ {
		m := map[string]string{}
		for k := 0; k < *keys; k++ {
			m[fmt.Sprintf("feature_%d", k)] = fmt.Sprintf("rule%d-value%d", r, k)
		}
		filters = append(filters, &FiltersType{Name: fmt.Sprintf("rule%d", r), FilterMap: m})
	}
	deadline := time.Now().Add(*limit)
	var served, produced int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		mine := *requests / *workers
		if w < *requests%*workers {
			mine++
		}
		wg.Add(1)
		go func(w, mine int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w) + 1))
			n, out := int64(0), int64(0)
			for i := 0; i < mine && time.Now().Before(deadline); i++ {
				out += int64(len(getFeatureMap(randomDriverID(rng))))
				n++
			}
			mu.Lock()
			served += n
			produced += out
			mu.Unlock()
		}(w, mine)
	}
	wg.Wait()
	fmt.Printf("served %d requests, %d feature keys (%s)\n", served, produced, *variant)
}
