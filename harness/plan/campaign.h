// Campaigns across machines (docs/scale-out.md): the pure pieces that let the shards of one
// sweep run anywhere without talking to each other. Each run's seed is derived from the
// campaign's base seed, the run's point and its repeat index; the base seed comes from the
// command line, a campaign name, or the job engine's own id; the shard from --shard or from the
// engine's environment (a Slurm job array, a Kubernetes Indexed Job).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "harness/plan/sweep.h"

namespace faultline {

// The seed of repeat `repeat` of the point `point` (a run's experiment key without its variant
// and build: every variant and build of a point run on the same seeds, to be compared). A
// splitmix64 of the base seed, the point's stable_hash and the repeat, cut to 53 bits: the same
// on any machine.
std::uint64_t derive_seed(std::uint64_t base, std::string_view point, std::uint64_t repeat);

// Reads an environment variable; nullptr when unset (std::getenv in the driver, a map in tests).
using EnvLookup = std::function<const char*(const char*)>;

// `--shard env`: the shard from the job engine's environment. A Slurm job array
// (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN, SLURM_ARRAY_TASK_MAX, SLURM_ARRAY_TASK_COUNT; the
// array must be contiguous, --array=0-3 or 1-4, not 0-6:2), else a Kubernetes Indexed Job
// (JOB_COMPLETION_INDEX, with the count in FAULTLINE_SHARD_COUNT). Throws UsageError naming
// what is missing or inconsistent.
Shard shard_from_env(const EnvLookup& env);

// The base seed of a sweep and where it came from, for the record and the first line.
struct BaseSeed {
  std::uint64_t seed = 0;
  std::string from;  // "the runs in FILE", "--seed", "--campaign NAME", ...
};

// Where a base seed may come from, in order: the runs already in the file (a resume; a --seed
// that differs is refused), --seed, --campaign NAME (or FAULTLINE_CAMPAIGN), the Slurm job
// array's id (SLURM_ARRAY_JOB_ID: every task of one array shares it), else a fresh one, which a
// shard cannot use: the shards would not agree. Throws UsageError naming the fix.
struct SeedSources {
  bool resume = false;
  std::optional<std::uint64_t> in_file;
  std::optional<std::uint64_t> given;
  std::string campaign;  // --campaign
  Shard shard;
  std::string out;
};
BaseSeed choose_base_seed(const SeedSources& s, const EnvLookup& env,
                          const std::function<std::uint64_t()>& fresh);

// A campaign name as a base seed: stable_hash of the name, below 10^9 so it can be typed back.
std::uint64_t campaign_seed(std::string_view name);

// 16 hex digits naming a campaign: its base seed and its sweep's definition words.
std::string campaign_id(std::uint64_t base_seed, const std::vector<std::string>& sweep);

}  // namespace faultline
