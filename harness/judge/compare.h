// Comparing two results files: did the reproduction rate or a metric change, and is the change a
// regression? The functions here are pure (records in, a report out) so tests can run them on
// checked-in sample files; `faultline compare` is a thin layer over them (docs/compare.md).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/judge/stats.h"
#include "harness/record/experiment_key.h"
#include "harness/record/record.h"
#include "harness/scenario/expectation.h"

namespace faultline {

// The record's first_symptom_s, compared as a metric of this name (lower is better).
inline constexpr std::string_view kFirstSymptomMetric = "first_symptom_s";

// What the two sides of a comparison are. kFile: file A against file B, runs matched by their
// whole ExperimentKey. Any other axis: the runs of every file given, pooled, matched by the key
// without that axis, and each value of the axis compared with the first one seen (benchstat's
// -col): --by variant puts buggy beside fixed, --by perturb a baseline beside perturbed runs.
enum class Axis { kFile, kVariant, kSanitizer, kParam, kFault, kPerturb, kNemesis, kLimits };
struct CompareBy {
  Axis axis = Axis::kFile;
  std::string param;         // kParam: the parameter's name
  std::string text() const;  // "file", "variant", "param=NAME", ...
};
CompareBy parse_compare_by(const std::string& text);  // throws UsageError

// The value of the axis in a record ("" for a fault, perturbation or nemesis that is off), and
// the record's key with that axis left out.
std::string axis_value(const CompareBy& by, const Record& record);
ExperimentKey key_without(const CompareBy& by, const Record& record);

enum class FailOn { kRegression, kAny, kNone };
FailOn parse_fail_on(const std::string& text);  // throws UsageError

enum class Better { kLower, kHigher };

// Which way a metric is better. Lower, unless a word of its name (split at _ - .) says it counts
// good things: throughput, goodput, qps, rps, ops, success(es), completed, hits, or "per s/sec"
// (requests_per_s); names in `higher_is_better` are higher-is-better too.
Better metric_better(const std::string& name, const std::vector<std::string>& higher_is_better);

struct CompareOptions {
  double alpha = 0.05;
  CompareBy by;
  std::vector<std::string> metrics;           // empty: every metric found
  std::vector<std::string> higher_is_better;  // metric names, on top of metric_better's words
};

// The incident rate: runs that showed the incident (is_hit) over decided runs, by the judge.
struct RateComparison {
  std::uint64_t failed_a = 0, decided_a = 0, unknown_a = 0;  // failed: runs with the incident
  std::uint64_t failed_b = 0, decided_b = 0, unknown_b = 0;
  Interval interval_a, interval_b;  // 95 % Wilson
  double p_value = 1;               // Fisher's exact test, two-sided
  bool significant = false;         // p < alpha
  // See docs/compare.md: only when both sides have the same expectation (an incident expected
  // and seen less often, or a clean expectation and the incident more often).
  bool regression = false;
  Expect expect = Expect::kNone;  // the expectation both sides share (kNone when they differ)
  double rate_a() const;
  double rate_b() const;
};

struct MetricComparison {
  std::string name;
  std::string unit;
  std::size_t n_a = 0, n_b = 0;
  double median_a = 0, median_b = 0;
  std::optional<double> relative_change;  // (median B - median A) / |median A|; none when A is 0
  UTestResult test;                       // Mann-Whitney U, A against B
  Better better = Better::kLower;
  bool significant = false;
  bool b_higher = false;  // B tends to be larger (U of A below mn/2)
  bool regression = false;
};

// A latency distribution both sides recorded whole (Record::histograms), merged over each side's
// decided runs: percentiles of the merged distribution, not medians of per-run percentiles. No
// test is made (the values of one run are not independent of each other).
struct DistributionComparison {
  std::string name;
  std::string unit;
  double divisor = 1;
  std::size_t runs_a = 0, runs_b = 0;  // runs that recorded it
  LatencyHistogram a, b;
  // The value at percentile p of side A or B, in `unit`.
  double at_a(double p) const { return static_cast<double>(a.percentile(p)) / divisor; }
  double at_b(double p) const { return static_cast<double>(b.percentile(p)) / divisor; }
};
// The percentiles compare shows of a merged distribution.
inline constexpr double kShownPercentiles[] = {50, 99, 99.9};

struct GroupComparison {
  ExperimentKey key;             // kFile: the whole key; otherwise the key without the axis
  std::string value_a, value_b;  // the axis values compared (kFile: the file names)
  std::size_t runs_a = 0, runs_b = 0;
  RateComparison rate;
  std::vector<MetricComparison> metrics;              // by name
  std::vector<DistributionComparison> distributions;  // by name; only those on both sides
};

struct LoneGroup {
  ExperimentKey key;
  std::string value;  // kFile: the file; otherwise the only value of the axis it has
  std::size_t runs = 0;
};

struct ComparisonReport {
  std::string name_a, name_b;  // the files, as given (name_b empty for one file with --by)
  CompareBy by;
  std::size_t runs_a = 0, runs_b = 0;
  double alpha = 0.05;
  std::vector<GroupComparison> groups;  // sorted by key
  std::vector<LoneGroup> only_in_a;
  std::vector<LoneGroup> only_in_b;
  std::vector<std::string> warnings;

  std::size_t regressions() const;
  std::size_t significant_changes() const;
};

// Groups both sides, then tests every group found in both. With options.by other than kFile, `a`
// and `b` are pooled and compared along the axis.
ComparisonReport compare_records(const std::vector<Record>& a, const std::vector<Record>& b,
                                 const CompareOptions& options, const std::string& name_a = "A",
                                 const std::string& name_b = "B");

// Why the report compares nothing, as one line naming the keys on each side and the nearest
// pair with the fields in which they differ (and the --by that would compare them); "" when at
// least one group was compared.
std::string vacuous_reason(const ComparisonReport& report);

// Warnings for tests that cannot reach alpha at these sample sizes, whatever the data.
std::vector<std::string> power_warnings(const ComparisonReport& report);

// 1 when the report holds a finding of the kind asked for, else 0. `any` counts every
// significant change in either direction and every group present in one file only.
int compare_exit_code(const ComparisonReport& report, FailOn fail_on);

std::string render_compare_table(const ComparisonReport& report);
std::string render_compare_markdown(const ComparisonReport& report);
std::string render_compare_csv(const ComparisonReport& report);
nlohmann::json compare_to_json(const ComparisonReport& report);

}  // namespace faultline
