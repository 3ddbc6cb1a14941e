// The detector matrix: for every incident (scenario) and detector (the build it ran in: none,
// tsan, asan), how often the detector saw the incident where it was (true positives), missed it
// (false negatives), raised an alarm on a fixed variant (false positives) or stayed quiet there
// (true negatives), as GoBench and DataRaceBench publish it. Pure: records in, a matrix out;
// `faultline score` runs the scenarios or reads result files and prints it.
//
// Ground truth comes from each run's expectation, never from a variant's name: a run expected
// to show the incident (or a build not judged that still states what the incident would look
// like) is a positive; a run expected clean is a negative; a run with neither is left out. The
// one judge (harness/judge/judge.h) says whether the detector saw it. Unknown runs are counted
// apart.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/record/record.h"

namespace faultline {

struct ScoreCell {
  std::string scenario;
  std::string detector;  // none, tsan, asan
  std::uint64_t tp = 0, fn = 0, fp = 0, tn = 0, unknown = 0;
  std::vector<std::string> positive_variants;  // in order of first appearance
  // Per positive variant (in repeat order): the run that first showed the incident, and the
  // seconds of runs until then; the medians over the variants that showed it.
  std::optional<double> median_runs_to_first;
  std::optional<double> median_seconds_to_first;
  std::optional<double> recall() const;     // tp / (tp + fn)
  std::optional<double> precision() const;  // tp / (tp + fp)
};

// One cell per scenario x detector, scenarios in order of first appearance, detectors in the
// order none, tsan, asan.
std::vector<ScoreCell> score_records(const std::vector<Record>& records);

std::string render_score_table(const std::vector<ScoreCell>& cells);
std::string render_score_markdown(const std::vector<ScoreCell>& cells);
std::string render_score_csv(const std::vector<ScoreCell>& cells);

}  // namespace faultline
