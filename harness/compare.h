// Comparing two results files: did the reproduction rate or a metric change, and is the change a
// regression? The functions here are pure (records in, a report out) so tests can run them on
// checked-in sample files; `faultline compare` is a thin layer over them (docs/compare.md).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/stats.h"

namespace faultline {

// Runs are matched across files by everything that defines the experiment, never by the repeat
// index: repeat 3 of A and repeat 3 of B are not related.
struct GroupKey {
  std::string scenario;
  std::string variant;
  std::string sanitizer;
  std::map<std::string, std::string> params;

  std::string params_text() const;  // "k=v,k=v", or "-" for none
  std::string label() const;        // "scenario variant sanitizer k=v,k=v"
  auto operator<=>(const GroupKey&) const = default;
};

GroupKey group_key_of(const nlohmann::json& record);

enum class FailOn { kRegression, kAny, kNone };
FailOn parse_fail_on(const std::string& text);  // throws UsageError

enum class Better { kLower, kHigher };

// Which way a metric is better. Lower, unless a word of its name (split at _ - .) says it counts
// good things: throughput, goodput, qps, rps, ops, success(es), completed, hits, or "per s/sec"
// (requests_per_s); names in `higher_is_better` are higher-is-better too.
Better metric_better(const std::string& name, const std::vector<std::string>& higher_is_better);

struct CompareOptions {
  double alpha = 0.05;
  std::vector<std::string> metrics;           // empty: every metric found
  std::vector<std::string> higher_is_better;  // metric names, on top of metric_better's words
};

struct RateComparison {
  std::uint64_t failed_a = 0, decided_a = 0, unknown_a = 0;
  std::uint64_t failed_b = 0, decided_b = 0, unknown_b = 0;
  Interval interval_a, interval_b;  // 95 % Wilson
  double p_value = 1;               // Fisher's exact test, two-sided
  bool significant = false;         // p < alpha
  bool regression = false;          // see docs/compare.md
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

struct GroupComparison {
  GroupKey key;
  std::size_t runs_a = 0, runs_b = 0;
  RateComparison rate;
  std::vector<MetricComparison> metrics;  // by name
};

struct LoneGroup {
  GroupKey key;
  std::size_t runs = 0;
};

struct ComparisonReport {
  std::string name_a, name_b;  // the files, as given
  std::size_t runs_a = 0, runs_b = 0;
  double alpha = 0.05;
  std::vector<GroupComparison> groups;  // sorted by key
  std::vector<LoneGroup> only_in_a;
  std::vector<LoneGroup> only_in_b;
  std::vector<std::string> warnings;

  std::size_t regressions() const;
  std::size_t significant_changes() const;
};

// Groups both sides, then tests every group found in both. Records must have passed
// check_record() (read_records does that).
ComparisonReport compare_records(const std::vector<nlohmann::json>& a,
                                 const std::vector<nlohmann::json>& b,
                                 const CompareOptions& options, const std::string& name_a = "A",
                                 const std::string& name_b = "B");

// 1 when the report holds a finding of the kind asked for, else 0. `any` counts every
// significant change in either direction and every group present in one file only.
int compare_exit_code(const ComparisonReport& report, FailOn fail_on);

std::string render_compare_table(const ComparisonReport& report);
std::string render_compare_markdown(const ComparisonReport& report);
std::string render_compare_csv(const ComparisonReport& report);
nlohmann::json compare_to_json(const ComparisonReport& report);

}  // namespace faultline
