// faultline compare: two results files, group by group, with the statistics that say whether a
// difference is more than noise (docs/compare.md).
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <set>

#include "harness/cli/cli.h"
#include "harness/judge/compare.h"
#include "harness/judge/summary.h"
#include "harness/record/results_file.h"

namespace faultline::cli {
namespace po = boost::program_options;

namespace {

struct CompareArgs {
  std::vector<std::string> files;
  double alpha = 0.05;
  std::vector<std::string> metrics;
  std::vector<std::string> higher_better;
  std::string fail_on;
  std::string format;
  std::string by;
};

const char* const kCompareUsage =
    "usage: faultline compare A B [options]\n"
    "       faultline compare FILE... --by AXIS [options]\n\n"
    "Matches the runs of results files A and B by their experiment key (scenario, variant,\n"
    "sanitizer, parameters, faults, perturbation, nemesis, limits), then tests each group: the\n"
    "incident rate as the judge counts it (Fisher's exact test, 95% Wilson intervals) and every\n"
    "metric (medians, Mann-Whitney U). With --by, the runs of every file given are pooled and\n"
    "each value of the axis is compared with the first one seen: --by variant puts buggy\n"
    "beside fixed, --by perturb a baseline beside perturbed runs. A comparison that matches\n"
    "nothing is an error, never a pass. Exit codes: 0 nothing of the --fail-on kind, 1 a\n"
    "significant regression (or change, with --fail-on any), 2 bad input or nothing to\n"
    "compare. See docs/compare.md.\n\n"
    "examples:\n"
    "  faultline compare results/before.jsonl results/after.jsonl --fail-on regression\n"
    "  faultline compare results/rpc-timeout-race.jsonl --by variant\n"
    "  faultline compare sweep.jsonl --by param=workers --metric throughput --format markdown\n\n"
    "options";

void add_compare_options(po::options_description& desc, CompareArgs& a) {
  desc.add_options()("help,h", "this text")("alpha",
                                            po::value(&a.alpha)->default_value(0.05, "0.05"),
                                            "significance level of every test")(
      "metric", po::value(&a.metrics)->composing(), "compare only this metric (repeatable)")(
      "higher-better", po::value(&a.higher_better)->composing(),
      "a metric for which higher is better (repeatable; see docs/compare.md for the default)")(
      "fail-on", po::value(&a.fail_on)->default_value("regression"),
      "what makes the exit code 1: regression, any (significant change) or none")(
      "format", po::value(&a.format)->default_value("table"), "table, json, csv or markdown")(
      "by", po::value(&a.by)->default_value("file"),
      "the axis to compare along: file (A against B), variant, sanitizer, param=NAME, fault, "
      "perturb, nemesis or limits");
}

// Everything that can be checked before a file is read.
void check_compare_args(const CompareArgs& a, const CompareBy& by) {
  const auto& files = a.files;
  if (by.axis == Axis::kFile && files.size() != 2) {
    throw UsageError(fmt::format(
        "compare: give exactly two results files, A (before) and B (after), not {} (or compare "
        "inside files with --by variant, --by perturb, ...)",
        files.size()));
  }
  if (by.axis != Axis::kFile && files.empty()) {
    throw UsageError(fmt::format("compare --by {}: give at least one results file", by.text()));
  }
  if (by.axis == Axis::kFile) {
    std::error_code ec;
    if (files[0] == files[1] || std::filesystem::equivalent(files[0], files[1], ec)) {
      throw UsageError(fmt::format(
          "compare: A and B are the same file ({}): a file against itself shows no change by "
          "construction; give another B, or compare inside it with --by variant",
          files[0]));
    }
  }
  if (!(a.alpha > 0 && a.alpha < 1)) {
    throw UsageError(
        fmt::format("--alpha {} is out of range: use a level such as 0.05 or 0.01", a.alpha));
  }
  if (a.format != "table" && a.format != "json" && a.format != "csv" && a.format != "markdown") {
    throw UsageError(
        fmt::format("--format '{}' is not known: use table, json, csv or markdown", a.format));
  }
}

// What needs the records: a --by param that no record has, a --metric neither side has.
void check_against_records(const CompareArgs& a, const CompareBy& by,
                           const std::vector<Record>& left, const std::vector<Record>& right) {
  std::set<std::string> params, seen;
  for (const auto* side : {&left, &right}) {
    for (const auto& r : *side) {
      for (const auto& [name, v] : r.params) params.insert(name);
      for (const auto& [name, m] : r.metrics) seen.insert(name);
      if (r.first_symptom_s) seen.insert(std::string(kFirstSymptomMetric));
    }
  }
  if (by.axis == Axis::kParam && !params.count(by.param)) {
    throw UsageError(fmt::format(
        "--by param={}: no record has that parameter (faultline list shows a scenario's)",
        by.param));
  }
  for (const auto& m : a.metrics) {
    if (!seen.count(m)) {
      throw UsageError(
          fmt::format("--metric {}: neither file has it; the metrics are: {}", m,
                      seen.empty() ? "none" : fmt::format("{}", fmt::join(seen, ", "))));
    }
  }
}

void print_comparison(const ComparisonReport& report, const std::string& format) {
  if (format == "json") {
    std::cout << compare_to_json(report).dump(2) << "\n";
  } else if (format == "csv") {
    std::cout << render_compare_csv(report);
  } else if (format == "markdown") {
    std::cout << render_compare_markdown(report);
  } else {
    std::cout << render_compare_table(report);
  }
}

}  // namespace

int compare(const Args& args) {
  CompareArgs a;
  po::options_description desc(kCompareUsage);
  add_compare_options(desc, a);
  auto vm = parse("compare", args, desc, "files", po::value(&a.files)->composing(), -1);
  if (vm.count("help")) {
    std::cout << desc;
    return kExitOk;
  }
  const CompareBy by = parse_compare_by(a.by);
  check_compare_args(a, by);
  const FailOn fail_on = parse_fail_on(a.fail_on);

  std::vector<std::string> warnings;
  auto left = read_records(a.files[0], &warnings);
  std::vector<Record> right;
  for (std::size_t i = 1; i < a.files.size(); ++i) {
    auto more = read_records(a.files[i], &warnings);
    right.insert(right.end(), more.begin(), more.end());
  }
  check_against_records(a, by, left, right);

  CompareOptions options;
  options.alpha = a.alpha;
  options.metrics = a.metrics;
  options.higher_is_better = a.higher_better;
  options.by = by;
  const auto& files = a.files;
  const std::string name_b = files.size() == 2  ? files[1]
                             : files.size() > 2 ? fmt::format("{} more files", files.size() - 1)
                                                : "";
  ComparisonReport report = compare_records(left, right, options, files[0], name_b);
  if (std::string why = vacuous_reason(report); !why.empty()) throw UsageError("compare: " + why);
  warnings.insert(warnings.end(), report.warnings.begin(), report.warnings.end());
  for (const auto& w : power_warnings(report)) warnings.push_back(w);
  for (const auto& w : warnings) std::cerr << "warning: " << w << "\n";
  print_comparison(report, a.format);
  return compare_exit_code(report, fail_on);
}

}  // namespace faultline::cli
