// shared-map-iteration: request handlers write one key into a global filter-rule map they share
// by reference, while other requests serialise that same map to JSON.
//
// Incident (seed 001, a Go dispatch service): getFeatureMap ran, for every filter rule,
//   param := filterRule.FilterMap; param["driver_id"] = id; BuildKeyList(param) // json.Marshal
// FilterMap belonged to a global rule table. Assigning a Go map copies the reference, so every
// request wrote driver_id into the one shared map while other requests iterated it inside
// json.Marshal; the runtime killed the service with "fatal error: concurrent map iteration and
// map write" and the port went down.
// Root cause: the handler took the shared map, not its own copy, then wrote to it.
// Fix (the write-up's): DeepCopyMap(filterRule.FilterMap), one private map per request.
// C++ analogue: `FilterMap& param = rule.filter_map` (BUG) versus `FilterMap param =
// rule.filter_map` (FIX). C++ has no runtime check, so the race either crashes (two writers
// reallocate the same std::string: double free; a reader copies freed bytes) or silently
// produces a document with another request's driver id or bytes that are not JSON.
//
// Timeline of the bad interleaving (two requests, one rule map):
//   request A (worker 1)                       request B (worker 2)
//   param = rules[0].filter_map   (same object) param = rules[0].filter_map
//   param["driver_id"] = "17"
//                                              param["driver_id"] = "9000000000000000042"
//                                                (needs a bigger buffer: frees the old one)
//   marshal(param) reads driver_id  <- B's id, or the freed buffer's bytes, or a torn length
//   A sends {"driver_id":"9000000000000000042",...}: the wrong driver, or output that does not
//   parse; if A assigned at the same instant, both free one buffer: glibc aborts the process.
//
// Oracle: every document a handler produces is parsed with nlohmann::json and checked (it must
// be an object holding exactly the rule's keys with their values plus the driver_id this
// request wrote); failures are reported as observation corrupt_output. Under TSan the driver
// also sees the data race; without a sanitizer a crash is the signal the driver records.
#include <fmt/format.h>

#include <random>
#include <thread>
#include <vector>

#include "harness/probe/first_seen.h"
#include "harness/probe/perturb.h"
#include "harness/probe/resource_tally.h"
#include "harness/scenario/scenario_api.h"
#include "servers/marshal/filter_json.h"

namespace {
using namespace faultline;
using marshal::FilterMap;

const ScenarioSpec kSpec{
    "shared-map-iteration",
    "001",
    "handlers write driver_id into a global map by reference while others serialise it",
    "data_race (TSan); without sanitizer a crash or corrupt_output (a document that does not "
    "parse or carries another request's driver_id)",
    {"buggy", "fixed"},
    {
        int_param("workers", 8, 2, 256, "worker threads serving requests concurrently"),
        int_param("requests", 4000, 1, 10'000'000,
                  "requests in the run, split evenly over the workers"),
        int_param("filters", 4, 1, 64,
                  "global filter rules; every request marshals each rule's map once"),
        int_param("keys", 8, 1, 1024, "entries in each rule's filter map besides driver_id"),
        int_param("time-limit-ms", 8000, 100, 600'000,
                  "workers stop taking requests after this many milliseconds"),
    },
    {},
    {
        expect_incident("buggy", "tsan", {{"data_race"}, {"corrupt_output"}}),
        expect_incident("buggy", "asan", {{"corrupt_output"}, {"heap_use_after_free"}, {"crash"}}),
        expect_incident("buggy", "none", {{"corrupt_output"}, {"crash"}}),
        expect_clean("fixed", "*", {},
                     "every request writes the shared map and then serialises it, on every worker "
                     "at once: the overlap is the workload itself, not a rarer window a metric "
                     "could mark"),
    }};

struct FilterRule {
  std::string name;
  FilterMap filter_map;
};

// The global rule table: built before the workers start and never resized, as a configuration
// loaded at start-up would be. Only its maps' contents are at stake.
std::vector<FilterRule> g_filter_rules;

void build_rules(std::size_t filters, std::size_t keys) {
  g_filter_rules.clear();
  for (std::size_t r = 0; r < filters; ++r) {
    g_filter_rules.push_back({fmt::format("rule{}", r), marshal::rule_map(r, keys)});
  }
}

int run(Context& ctx) {
  const auto workers = ctx.params.count("workers");
  const std::uint64_t requests = ctx.params.count("requests");
  const auto filters = ctx.params.count("filters");
  const auto keys = ctx.params.count("keys");
  const bool deep_copy = ctx.is("fixed");

  build_rules(filters, keys);

  struct WorkerResult {
    marshal::CheckCounts counts;
    LatencyHistogram latency;
    std::uint64_t served = 0;
  };
  std::vector<WorkerResult> results(workers);
  FirstSeen first_bad;  // the moment a handler first produced a bad document
  const auto t0 = std::chrono::steady_clock::now();
  const auto deadline = t0 + ctx.params.ms("time-limit-ms");

  auto serve = [&](std::size_t w) {
    std::mt19937_64 rng(ctx.seed * 1000003 + w);
    WorkerResult& out = results[w];
    const std::uint64_t mine = requests / workers + (w < requests % workers ? 1 : 0);
    for (std::uint64_t i = 0; i < mine && std::chrono::steady_clock::now() < deadline; ++i) {
      const auto begin = std::chrono::steady_clock::now();
      const std::string driver_id = marshal::random_driver_id(rng);
      for (std::size_t r = 0; r < filters; ++r) {
        std::string document;
        if (!deep_copy) {
          FilterMap& param = g_filter_rules[r].filter_map;  // BUG: the global map itself
          param["driver_id"] = driver_id;
          FAULTLINE_PERTURB("shared-map.handler.after-write");
          document = marshal::marshal(param);
        } else {
          FilterMap param = g_filter_rules[r].filter_map;  // FIX: a deep copy per request
          param["driver_id"] = driver_id;
          FAULTLINE_PERTURB("shared-map.handler.after-write");
          document = marshal::marshal(param);
        }
        if (!marshal::check_document(document, r, keys, driver_id, out.counts)) first_bad.mark();
      }
      out.latency.record(
          static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         std::chrono::steady_clock::now() - begin)
                                         .count()));
      ++out.served;
    }
  };

  std::vector<std::thread> threads;
  threads.reserve(workers);
  // Each worker serves as soon as it has started, as the seed's goroutines do: no barrier that
  // holds the first ones until the last has started (under TSan a thread takes about 1 ms to
  // start, so the barrier kept the first request back 7 ms; docs/performance.md).
  // Under --max-threads a refused start is counted (resource_exhausted) and no more start.
  for (std::size_t w = 0; w < workers; ++w) {
    if (!start_thread(threads, [&serve, w] { serve(w); })) break;
  }
  for (auto& t : threads) t.join();
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - t0;

  marshal::CheckCounts total;
  LatencyHistogram latency;
  std::uint64_t served = 0;
  for (const auto& r : results) {
    total += r.counts;
    latency.merge(r.latency);
    served += r.served;
  }

  ctx.report.metric("requests_served", static_cast<double>(served), "requests");
  ctx.report.metrics(total.measures());
  ctx.report.metric("throughput", elapsed.count() > 0 ? served / elapsed.count() : 0, "requests/s");
  ctx.report.histogram("latency", latency, 1000.0, "us");
  ctx.report.observation("corrupt_output", total.corrupt(), total.detail(), first_bad.when());
  if (served < requests)
    ctx.report.note(fmt::format("time limit reached: served {} of {} requests", served, requests));
  fmt::print(
      "{} {}: {} requests, {} documents, {} corrupt ({} unparsable, {} wrong driver, {} "
      "wrong rule), {:.2f} s\n",
      kSpec.id, ctx.variant, served, total.documents, total.corrupt(), total.unparsable,
      total.wrong_driver, total.wrong_rule, elapsed.count());
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  return faultline::scenario_main(argc, argv, kSpec, run);
}
