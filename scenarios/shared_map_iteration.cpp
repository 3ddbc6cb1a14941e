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

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "harness/probe/histogram.h"
#include "harness/probe/perturb.h"
#include "harness/probe/resource_tally.h"
#include "harness/scenario/scenario_api.h"

namespace {

using faultline::ParamType;

const faultline::ScenarioSpec kSpec{
    "shared-map-iteration",
    "001",
    "handlers write driver_id into a global map by reference while others serialise it",
    "data_race (TSan); without sanitizer a crash or corrupt_output (a document that does not "
    "parse or carries another request's driver_id)",
    {"buggy", "fixed"},
    {
        {"workers",
         ParamType::kInt,
         "8",
         "worker threads serving requests concurrently",
         2,
         256,
         {}},
        {"requests",
         ParamType::kInt,
         "4000",
         "requests in the run, split evenly over the workers",
         1,
         10'000'000,
         {}},
        {"filters",
         ParamType::kInt,
         "4",
         "global filter rules; every request marshals each rule's map once",
         1,
         64,
         {}},
        {"keys",
         ParamType::kInt,
         "8",
         "entries in each rule's filter map besides driver_id",
         1,
         1024,
         {}},
        {"time-limit-ms",
         ParamType::kInt,
         "8000",
         "workers stop taking requests after this many milliseconds",
         100,
         600'000,
         {}},
    },
    {},
    {
        faultline::expect_incident("buggy", "tsan", {{"data_race"}, {"corrupt_output"}}),
        faultline::expect_incident("buggy", "asan",
                                   {{"corrupt_output"}, {"heap_use_after_free"}, {"crash"}}),
        faultline::expect_incident("buggy", "none", {{"corrupt_output"}, {"crash"}}),
        faultline::expect_clean("fixed", "*", {},
                                "every request writes the shared map and then serialises it, on "
                                "every worker at once: the overlap is the workload itself, not a "
                                "rarer window a metric could mark"),
    }};

using FilterMap = std::unordered_map<std::string, std::string>;

struct FilterRule {
  std::string name;
  FilterMap filter_map;
};

// The global rule table: built before the workers start and never resized, as a configuration
// loaded at start-up would be. Only its maps' contents are at stake.
std::vector<FilterRule> g_filter_rules;

std::string rule_value(std::size_t rule, std::size_t key) {
  return fmt::format("rule{}-value{}", rule, key);
}

void build_rules(std::size_t filters, std::size_t keys) {
  g_filter_rules.clear();
  for (std::size_t r = 0; r < filters; ++r) {
    FilterRule rule{fmt::format("rule{}", r), {}};
    for (std::size_t k = 0; k < keys; ++k) {
      rule.filter_map.emplace(fmt::format("feature_{}", k), rule_value(r, k));
    }
    g_filter_rules.push_back(std::move(rule));
  }
}

void append_json_string(std::string& out, const std::string& s) {
  out += '"';
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += fmt::format("\\u{:04x}", u);
    } else {
      out += c;  // bytes >= 0x80 pass through as they are, as Go's encoder passes valid UTF-8
    }
  }
  out += '"';
}

// The analogue of json.Marshal on a map: walk the map for its entries, sort them by key, write
// them out. Every step reads the map, so a writer that is not this request races all of them.
std::string marshal(const FilterMap& params) {
  std::vector<const FilterMap::value_type*> entries;
  entries.reserve(params.size());
  for (const auto& kv : params) {
    FAULTLINE_PERTURB("shared-map.marshal.iterate");  // a writer may rehash between two steps
    entries.push_back(&kv);
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  std::string out = "{";
  for (const auto* kv : entries) {
    if (out.size() > 1) out += ',';
    append_json_string(out, kv->first);
    out += ':';
    append_json_string(out, kv->second);
  }
  out += '}';
  return out;
}

struct CheckCounts {
  std::uint64_t documents = 0;
  std::uint64_t unparsable = 0;
  std::uint64_t wrong_driver = 0;
  std::uint64_t wrong_rule = 0;
};

// The oracle for one document: it must parse, and say exactly what this request wrote.
void check_document(const std::string& text, std::size_t rule, std::size_t keys,
                    const std::string& driver_id, CheckCounts& counts) {
  ++counts.documents;
  const auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    ++counts.unparsable;
    return;
  }
  const auto id = doc.find("driver_id");
  if (id == doc.end() || !id->is_string() || id->get<std::string>() != driver_id) {
    ++counts.wrong_driver;
    return;
  }
  bool rule_ok = doc.size() == keys + 1;
  for (std::size_t k = 0; rule_ok && k < keys; ++k) {
    const auto v = doc.find(fmt::format("feature_{}", k));
    rule_ok = v != doc.end() && v->is_string() && v->get<std::string>() == rule_value(rule, k);
  }
  if (!rule_ok) ++counts.wrong_rule;
}

// A driver id of 1 to 19 decimal digits: short ids live inside the std::string, long ones (16+
// characters with libstdc++) on the heap, so reassigning the value sometimes reallocates it.
std::string random_driver_id(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> digits_dist(1, 19);
  const int digits = digits_dist(rng);
  std::uint64_t low = 1;
  for (int i = 1; i < digits; ++i) low *= 10;
  std::uniform_int_distribution<std::uint64_t> value_dist(low, low * 10 - 1);
  return std::to_string(value_dist(rng));
}

int run(faultline::Context& ctx) {
  const auto workers = static_cast<std::size_t>(ctx.params.integer("workers"));
  const auto requests = static_cast<std::uint64_t>(ctx.params.integer("requests"));
  const auto filters = static_cast<std::size_t>(ctx.params.integer("filters"));
  const auto keys = static_cast<std::size_t>(ctx.params.integer("keys"));
  const auto time_limit = std::chrono::milliseconds(ctx.params.integer("time-limit-ms"));
  const bool deep_copy = ctx.is("fixed");

  build_rules(filters, keys);

  struct WorkerResult {
    CheckCounts counts;
    faultline::LatencyHistogram latency;
    std::uint64_t served = 0;
  };
  std::vector<WorkerResult> results(workers);
  std::atomic<bool> start{false};
  const auto t0 = std::chrono::steady_clock::now();
  const auto deadline = t0 + time_limit;

  auto serve = [&](std::size_t w) {
    std::mt19937_64 rng(ctx.seed * 1000003 + w);
    WorkerResult& out = results[w];
    const std::uint64_t mine = requests / workers + (w < requests % workers ? 1 : 0);
    while (!start.load(std::memory_order_acquire)) std::this_thread::yield();
    for (std::uint64_t i = 0; i < mine && std::chrono::steady_clock::now() < deadline; ++i) {
      const auto begin = std::chrono::steady_clock::now();
      const std::string driver_id = random_driver_id(rng);
      for (std::size_t r = 0; r < filters; ++r) {
        std::string document;
        if (!deep_copy) {
          FilterMap& param = g_filter_rules[r].filter_map;  // BUG: the global map itself
          param["driver_id"] = driver_id;
          FAULTLINE_PERTURB("shared-map.handler.after-write");
          document = marshal(param);
        } else {
          FilterMap param = g_filter_rules[r].filter_map;  // FIX: a deep copy per request
          param["driver_id"] = driver_id;
          FAULTLINE_PERTURB("shared-map.handler.after-write");
          document = marshal(param);
        }
        check_document(document, r, keys, driver_id, out.counts);
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
  // Under --max-threads a refused start is counted (resource_exhausted) and no more start.
  for (std::size_t w = 0; w < workers; ++w) {
    if (!faultline::start_thread(threads, [&serve, w] { serve(w); })) break;
  }
  start.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  CheckCounts total;
  faultline::LatencyHistogram latency;
  std::uint64_t served = 0;
  for (const auto& r : results) {
    total.documents += r.counts.documents;
    total.unparsable += r.counts.unparsable;
    total.wrong_driver += r.counts.wrong_driver;
    total.wrong_rule += r.counts.wrong_rule;
    latency.merge(r.latency);
    served += r.served;
  }
  const std::uint64_t corrupt = total.unparsable + total.wrong_driver + total.wrong_rule;

  ctx.report.metric("requests_served", static_cast<double>(served), "requests");
  ctx.report.metric("documents_checked", static_cast<double>(total.documents), "documents");
  ctx.report.metric("documents_unparsable", static_cast<double>(total.unparsable), "documents");
  ctx.report.metric("documents_wrong_driver", static_cast<double>(total.wrong_driver), "documents");
  ctx.report.metric("documents_wrong_rule", static_cast<double>(total.wrong_rule), "documents");
  ctx.report.metric("throughput", elapsed > 0 ? static_cast<double>(served) / elapsed : 0,
                    "requests/s");
  ctx.report.histogram("latency", latency, 1000.0, "us");
  ctx.report.observation(
      "corrupt_output", corrupt,
      fmt::format("{} of {} documents bad: {} do not parse, {} carry another driver_id, {} lost "
                  "or changed a rule entry",
                  corrupt, total.documents, total.unparsable, total.wrong_driver,
                  total.wrong_rule));
  if (served < requests) {
    ctx.report.note(fmt::format("time limit reached: served {} of {} requests", served, requests));
  }
  fmt::print(
      "{} {}: {} requests, {} documents, {} corrupt ({} unparsable, {} wrong driver, {} "
      "wrong rule), {:.2f} s\n",
      kSpec.id, ctx.variant, served, total.documents, corrupt, total.unparsable, total.wrong_driver,
      total.wrong_rule, elapsed);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return faultline::scenario_main(argc, argv, kSpec, run);
}
