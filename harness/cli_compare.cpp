// faultline compare: two results files, group by group, with the statistics that say whether a
// difference is more than noise (docs/compare.md).
#include <fmt/format.h>

#include <iostream>
#include <set>

#include "harness/cli.h"
#include "harness/compare.h"
#include "harness/results_file.h"
#include "harness/summary.h"

namespace faultline::cli {
namespace po = boost::program_options;

int compare(const Args& args) {
  std::vector<std::string> files;
  double alpha = 0.05;
  std::vector<std::string> metrics;
  std::vector<std::string> higher_better;
  std::string fail_on_arg;
  std::string format;
  po::options_description desc(
      "usage: faultline compare A B [options]\n\n"
      "Matches the runs of results files A and B by scenario, variant, sanitizer and parameters,\n"
      "then tests each group: reproduction rate (Fisher's exact test, 95% Wilson intervals) and\n"
      "every metric (medians, Mann-Whitney U). Exit codes: 0 nothing of the --fail-on kind, 1 a\n"
      "significant regression (or change, with --fail-on any), 2 bad input. See "
      "docs/compare.md.\n\noptions");
  desc.add_options()("help,h", "this text")("alpha", po::value(&alpha)->default_value(0.05),
                                            "significance level of every test")(
      "metric", po::value(&metrics)->composing(), "compare only this metric (repeatable)")(
      "higher-better", po::value(&higher_better)->composing(),
      "a metric for which higher is better (repeatable; see docs/compare.md for the default)")(
      "fail-on", po::value(&fail_on_arg)->default_value("regression"),
      "what makes the exit code 1: regression, any (significant change) or none")(
      "format", po::value(&format)->default_value("table"), "table, json, csv or markdown");
  po::options_description hidden;
  hidden.add_options()("files", po::value(&files)->composing());
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description positional;
  positional.add("files", -1);

  auto vm = parse("compare", args, all, &positional);
  if (vm.count("help")) {
    std::cout << desc;
    return kExitOk;
  }
  if (files.size() != 2) {
    throw UsageError(fmt::format(
        "compare: give exactly two results files, A (before) and B (after), not {}", files.size()));
  }
  if (!(alpha > 0 && alpha < 1)) {
    throw UsageError(
        fmt::format("--alpha {} is out of range: use a level such as 0.05 or 0.01", alpha));
  }
  const FailOn fail_on = parse_fail_on(fail_on_arg);
  if (format != "table" && format != "json" && format != "csv" && format != "markdown") {
    throw UsageError(
        fmt::format("--format '{}' is not known: use table, json, csv or markdown", format));
  }

  std::vector<std::string> warnings;
  auto a = read_records(files[0], &warnings);
  auto b = read_records(files[1], &warnings);
  if (!metrics.empty()) {
    std::set<std::string> seen;
    for (const auto* side : {&a, &b}) {
      for (const auto& r : *side) {
        for (const auto& [name, v] : r["metrics"].items()) seen.insert(name);
      }
    }
    for (const auto& m : metrics) {
      if (!seen.count(m)) {
        throw UsageError(
            fmt::format("--metric {}: neither file has it; the metrics are: {}", m,
                        seen.empty() ? "none" : fmt::format("{}", fmt::join(seen, ", "))));
      }
    }
  }

  CompareOptions options;
  options.alpha = alpha;
  options.metrics = metrics;
  options.higher_is_better = higher_better;
  ComparisonReport report = compare_records(a, b, options, files[0], files[1]);
  warnings.insert(warnings.end(), report.warnings.begin(), report.warnings.end());
  for (const auto& w : warnings) std::cerr << "warning: " << w << "\n";

  if (format == "json") {
    std::cout << compare_to_json(report).dump(2) << "\n";
  } else if (format == "csv") {
    std::cout << render_compare_csv(report);
  } else if (format == "markdown") {
    std::cout << render_compare_markdown(report);
  } else {
    std::cout << render_compare_table(report);
  }
  return compare_exit_code(report, fail_on);
}

}  // namespace faultline::cli
