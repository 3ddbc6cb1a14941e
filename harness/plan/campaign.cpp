#include "harness/plan/campaign.h"

#include <fmt/format.h>

#include <charconv>
#include <cstring>

#include "harness/probe/splitmix.h"

namespace faultline {
namespace {

std::optional<std::uint64_t> env_number(const EnvLookup& env, const char* name) {
  const char* v = env(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  std::uint64_t n = 0;
  const char* end = v + std::strlen(v);
  const auto [at, ec] = std::from_chars(v, end, n);
  if (ec != std::errc() || at != end) {
    throw UsageError(fmt::format("--shard env: {}='{}' is not a whole number", name, v));
  }
  return n;
}

Shard slurm_shard(const EnvLookup& env, std::uint64_t id) {
  const auto count = env_number(env, "SLURM_ARRAY_TASK_COUNT");
  const auto min = env_number(env, "SLURM_ARRAY_TASK_MIN");
  const auto max = env_number(env, "SLURM_ARRAY_TASK_MAX");
  if (!count || !min || !max) {
    throw UsageError(
        "--shard env: SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_COUNT, _MIN and _MAX: "
        "run under sbatch --array, or give --shard I/N");
  }
  if (*max < *min || *max - *min + 1 != *count || id < *min || id > *max) {
    throw UsageError(fmt::format(
        "--shard env: the Slurm array {}-{} with {} tasks is not contiguous: submit it as "
        "--array=0-{} (no step, no list)",
        *min, *max, *count, *count > 0 ? *count - 1 : 0));
  }
  return {id - *min, *count};
}

}  // namespace

std::uint64_t derive_seed(std::uint64_t base, std::string_view point, std::uint64_t repeat) {
  // 53 bits: a seed stays exact in tools that read JSON numbers as doubles (jq, JavaScript).
  return splitmix64(splitmix64(base ^ stable_hash(point)) + repeat) &
         ((std::uint64_t{1} << 53) - 1);
}

Shard shard_from_env(const EnvLookup& env) {
  if (const auto id = env_number(env, "SLURM_ARRAY_TASK_ID")) return slurm_shard(env, *id);
  if (const auto index = env_number(env, "JOB_COMPLETION_INDEX")) {
    const auto count = env_number(env, "FAULTLINE_SHARD_COUNT");
    if (!count || *count == 0) {
      throw UsageError(
          "--shard env: JOB_COMPLETION_INDEX is set but not FAULTLINE_SHARD_COUNT: set it to "
          "the Job's completions in its manifest");
    }
    if (*index >= *count) {
      throw UsageError(
          fmt::format("--shard env: JOB_COMPLETION_INDEX={} is not below FAULTLINE_SHARD_COUNT={}",
                      *index, *count));
    }
    return {*index, *count};
  }
  throw UsageError(
      "--shard env: neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor JOB_COMPLETION_INDEX "
      "(a Kubernetes Indexed Job) is set: give --shard I/N");
}

std::uint64_t campaign_seed(std::string_view name) {
  return stable_hash(fmt::format("faultline campaign {}", name)) % 1000000000u;
}

std::string campaign_id(std::uint64_t base_seed, const std::vector<std::string>& sweep) {
  std::string text = std::to_string(base_seed);
  for (const auto& w : sweep) text += '\x1f' + w;
  return fmt::format("{:016x}", stable_hash(text));
}

BaseSeed choose_base_seed(const SeedSources& s, const EnvLookup& env,
                          const std::function<std::uint64_t()>& fresh) {
  if (s.resume && s.in_file) {
    if (s.given && *s.given != *s.in_file) {
      throw UsageError(fmt::format(
          "--seed {} differs from base seed {} of the runs already in {}: drop --seed to "
          "resume, or write to a new --out",
          *s.given, *s.in_file, s.out));
    }
    return {*s.in_file, fmt::format("the runs in {}", s.out)};
  }
  if (s.given) return {*s.given, "--seed"};
  if (!s.campaign.empty()) {
    return {campaign_seed(s.campaign), fmt::format("--campaign {}", s.campaign)};
  }
  if (const char* name = env("FAULTLINE_CAMPAIGN"); name != nullptr && *name != '\0') {
    return {campaign_seed(name), fmt::format("FAULTLINE_CAMPAIGN={}", name)};
  }
  if (const char* job = env("SLURM_ARRAY_JOB_ID"); job != nullptr && *job != '\0') {
    return {campaign_seed(fmt::format("slurm {}", job)), fmt::format("SLURM_ARRAY_JOB_ID={}", job)};
  }
  if (s.shard.count > 1) {
    throw UsageError(
        "--shard needs a base seed every shard agrees on: give --seed N or --campaign NAME (the "
        "same for all shards), or run as a Slurm job array");
  }
  return {fresh(), "generated"};
}

}  // namespace faultline
