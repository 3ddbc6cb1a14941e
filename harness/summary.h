// The human summary of a set of runs and the exit code a CI job acts on.
//
// Exit codes (docs/cli.md): 0 every variant met its expectation; 1 an expectation was missed
// (a buggy variant never reproduced, or a fixed one did); 2 bad input; 3 no expectation was
// missed but some runs ended unknown; 4 an internal error of faultline; 130 interrupted.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/stats.h"

namespace faultline {

inline constexpr int kExitOk = 0;
inline constexpr int kExitExpectationMissed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnknownRuns = 3;
inline constexpr int kExitInternal = 4;
inline constexpr int kExitInterrupted = 130;

enum class Expectation { kNone, kReproduce, kClean };

// buggy* variants are expected to reproduce, fixed* never to; other names carry no expectation.
Expectation expectation_of(const std::string& variant);

struct GroupSummary {
  std::string scenario;
  std::string variant;
  std::string sanitizer;
  std::uint64_t runs = 0;
  std::uint64_t failed = 0;
  std::uint64_t passed = 0;
  std::uint64_t unknown = 0;
  Interval rate;                               // 95 % Wilson interval of failed / (failed + passed)
  std::optional<std::uint64_t> first_failure;  // 1-based run number, in repeat order
  std::map<std::string, std::uint64_t> symptom_runs;  // kind -> runs in which it was seen
  double median_duration_s = 0;
  Expectation expectation = Expectation::kNone;
  bool expectation_met = true;
  std::vector<std::string> unknown_reasons;  // distinct reasons, for the summary
};

// Groups records by scenario, variant and sanitizer, in order of first appearance.
std::vector<GroupSummary> summarise(const std::vector<nlohmann::json>& records);

std::string render_summary(const std::vector<GroupSummary>& groups);

int exit_code_for(const std::vector<GroupSummary>& groups);

}  // namespace faultline
