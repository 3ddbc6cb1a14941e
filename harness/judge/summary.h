// The human summary of a set of runs and the exit code a CI job acts on. Runs are grouped by
// ExperimentKey and every run is judged by harness/judge/judge.h; nothing here decides on its own.
//
// Exit codes (docs/cli.md): 0 every judged experiment met its expectation; 1 an expectation was
// missed (an incident expected and never reproduced, or a clean run that showed a symptom);
// 2 bad input; 3 no expectation was missed but some runs ended unknown; 4 an internal error of
// faultline; 130 interrupted.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "harness/judge/judge.h"
#include "harness/judge/stats.h"
#include "harness/record/experiment_key.h"
#include "harness/record/record.h"

namespace faultline {

inline constexpr int kExitOk = 0;
inline constexpr int kExitExpectationMissed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnknownRuns = 3;
inline constexpr int kExitInternal = 4;
inline constexpr int kExitInterrupted = 130;

struct GroupSummary {
  ExperimentKey key;
  Expectation expectation;  // of the group's first run (every run of a key shares it)
  std::uint64_t runs = 0;
  std::map<Outcome, std::uint64_t> outcomes;
  std::uint64_t hits = 0;     // runs that showed the incident (is_hit)
  std::uint64_t decided = 0;  // runs that were not unknown
  std::uint64_t unknown = 0;
  Interval rate;                           // 95 % Wilson interval of hits / decided
  std::optional<std::uint64_t> first_hit;  // 1-based run number, in repeat order
  std::optional<double> first_hit_s;       // seconds of runs until the first hit, that one included
  std::map<std::string, std::uint64_t> symptom_runs;  // kind -> runs in which it was seen
  std::map<std::string, std::uint64_t>
      unexpected_runs;  // kind -> runs where it was not the incident
  double median_duration_s = 0;
  // Median over the runs that showed the incident and timed it (Record::first_symptom_s).
  std::optional<double> median_first_symptom_s;
  std::uint64_t timed_hits = 0;
  GroupStatus status = GroupStatus::kNotJudged;
  std::vector<std::string> unknown_reasons;  // distinct reasons, for the summary
  // For reports: the first run that missed the expectation (or, when none did, the first hit).
  // Points into the records given to summarise(): valid only while they are.
  const Record* example = nullptr;
  std::uint64_t count(Outcome o) const;
};

// Groups records by ExperimentKey, in order of first appearance, and judges every run.
std::vector<GroupSummary> summarise(const std::vector<Record>& records);

// The verdict of a group in words, e.g. "reproduced the incident in 4 of 5 runs".
std::string group_verdict_text(const GroupSummary& g);

// The summary table and an ok/MISS line per experiment; `colour` marks those in ANSI colours
// (for a terminal: the caller decides, see cli::use_colour).
std::string render_summary(const std::vector<GroupSummary>& groups, bool colour = false);

int exit_code_for(const std::vector<GroupSummary>& groups);

// A sweep's exit code: the points of one variant and build are judged together, so an incident
// that shows only at some points of the grid (high load, say) is met, and a clean expectation
// is missed by a symptom at any point. The sweep table still judges every point on its own.
int sweep_exit_code(const std::vector<GroupSummary>& groups);

}  // namespace faultline
