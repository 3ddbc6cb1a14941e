// Sweeps: one scenario over the cartesian product of parameter values, times variants, times
// sanitizers, times repeats (docs/sweeps.md). These are the pure pieces (the grid, the sweep
// file, shards, resume, the default parallelism, the progress line); `faultline sweep` in
// cli_sweep.cpp plans the runs with plan_scenario_runs and runs them with run_batch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "harness/plan/catalog.h"
#include "harness/run/executor.h"

namespace faultline {

struct GridAxis {
  std::string key;
  std::vector<std::string> values;  // in the order given, duplicates removed
};

// "key=v1,v2,..." -> axis. Throws UsageError naming the argument.
GridAxis parse_grid_axis(const std::string& arg);

// Every point of the grid as parameter overrides ("key=value"), the first axis varying slowest.
// An empty grid has one point: the defaults.
std::vector<std::vector<std::string>> expand_grid(const std::vector<GridAxis>& grid);

// What a sweep file (or the command line) says. Unset optionals leave the CLI default.
struct SweepDefinition {
  std::string scenario;
  std::vector<GridAxis> grid;
  std::vector<std::string> sets;  // fixed overrides key=value
  std::optional<std::string> variants;
  std::optional<std::string> sanitizers;  // comma list: none,tsan
  std::optional<std::uint64_t> repeat;
  std::optional<std::uint64_t> seed;
  std::optional<double> timeout_s;
};

// Reads a sweep file: one directive a line (scenario, grid, set, variant, sanitizer, repeat,
// seed, timeout), '#' starts a comment. Throws UsageError naming file:line.
SweepDefinition parse_sweep_file(const std::filesystem::path& path);

// Adds `extra` axes to `grid`; a key given twice is a UsageError.
void add_axes(std::vector<GridAxis>& grid, const std::vector<GridAxis>& extra);

// "none,tsan" -> sanitizers, in order, without duplicates. Throws UsageError.
std::vector<Sanitizer> parse_sanitizer_list(const std::string& text);

// I-th of N disjoint slices, 0 <= I < N.
struct Shard {
  std::uint64_t index = 0;
  std::uint64_t count = 1;
};
Shard parse_shard(const std::string& text);  // "I/N"; throws UsageError

// results/<id>-sweep.jsonl, or results/<id>-sweep-shard<I>of<N>.jsonl for a shard.
std::string default_sweep_out(const std::string& id, const Shard& shard);

// FNV-1a, 64 bits: the same on every machine and compiler, unlike std::hash.
std::uint64_t stable_hash(std::string_view text);

// A run belongs to shard stable_hash(run key) mod N. The key names parameters sorted, so the
// slice does not depend on the order of --grid flags or values, nor on the rest of the sweep:
// growing a sweep never moves a run that already has a shard.
bool in_shard(const std::string& run_key, const Shard& shard);

// Runs in the order a sweep starts them: repeat 0 of every point and variant first, then
// repeat 1, and so on, so a sweep stopped early has seen every point.
void order_for_sweep(std::vector<RunPlan>& plans);

// What the output file already holds of this sweep.
struct ResumeState {
  std::set<std::string> done_keys;  // keys of the sweep with a record
  std::vector<Record> records;      // those records
  // The campaign's base seed of the first of them (older records: seed - repeat_index).
  std::optional<std::uint64_t> base_seed;
  std::size_t seed_disagreements = 0;     // records whose base seed is another
  std::size_t records_outside_sweep = 0;  // other records in the file
};
ResumeState scan_for_resume(const std::vector<Record>& existing,
                            const std::set<std::string>& sweep_keys);

// Memory one run of a build is assumed to take when choosing the default --jobs: a scenario at
// full load takes a few hundred MiB; ASan roughly triples that, TSan needs 5-10x.
std::uint64_t run_memory_budget(Sanitizer sanitizer);

// Default parallelism of a sweep: one run per core, but no more runs than MemAvailable holds
// at the budget of the most demanding sanitizer in the sweep; at least 1.
int default_sweep_jobs(const std::vector<Sanitizer>& sanitizers, unsigned cores,
                       std::uint64_t available_bytes);

// MemAvailable from /proc/meminfo in bytes (0 when unknown).
std::uint64_t available_memory_bytes();

// "1h02m03s", "4m05s", "12s".
std::string format_duration(double seconds);

// The progress line of a sweep: done/total, failures, unknowns, elapsed, ETA.
std::string progress_text(std::size_t done, std::size_t total, std::size_t failed,
                          std::size_t unknown, double elapsed_s);

}  // namespace faultline
