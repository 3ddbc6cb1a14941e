// faultline report: results files as one self-contained HTML page (docs/report.md).
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "harness/cli/cli.h"
#include "harness/judge/summary.h"
#include "harness/record/results_file.h"
#include "harness/render/report.h"

namespace faultline::cli {
namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Every file's records, in order; warnings (a torn last line) go to stderr.
std::vector<Record> read_all(const std::vector<std::string>& files) {
  std::vector<std::string> warnings;
  std::vector<Record> records;
  for (const auto& f : files) {
    auto more = read_records(f, &warnings);
    records.insert(records.end(), std::make_move_iterator(more.begin()),
                   std::make_move_iterator(more.end()));
  }
  for (const auto& w : warnings) std::cerr << "warning: " << w << "\n";
  return records;
}

// A --metric no record has is a typo, not an empty chart.
void check_metrics(const std::vector<Record>& records, const std::vector<std::string>& metrics) {
  for (const auto& m : metrics) {
    const bool known = std::any_of(records.begin(), records.end(),
                                   [&](const Record& r) { return r.metrics.count(m) > 0; });
    if (!known) {
      throw UsageError(
          fmt::format("--metric {}: no record has it (faultline export --format csv "
                      "lists every metric)",
                      m));
    }
  }
}

}  // namespace

int report(const Args& args) {
  std::vector<std::string> files;
  std::string out;
  std::size_t timeline_runs = 12;
  std::vector<std::string> metrics;
  po::options_description desc(
      "usage: faultline report RESULTS... -o report.html\n\n"
      "Writes one self-contained HTML page (no network, no script: inline CSS and SVG) of the\n"
      "runs in the results files: per scenario the verdict of every experiment against its\n"
      "expectation with its 95% Wilson interval, the detector matrix, the incident rate over\n"
      "each swept parameter or fault strength, latency distributions merged across runs, a\n"
      "timeline per run and the symptom reports with their frames. See docs/report.md.\n\n"
      "example:\n  faultline report results/rpc-timeout-race.jsonl -o report.html\n\noptions");
  desc.add_options()("help,h", "this text")("out,o", po::value(&out),
                                            "the page to write (- for standard output)")(
      "timeline-runs", po::value(&timeline_runs),
      "runs drawn on a timeline per scenario (default 12)")(
      "metric", po::value(&metrics)->composing(),
      "a metric to draw over each swept axis too, its median per point (repeatable)");
  auto vm = parse("report", args, desc, "files", po::value(&files)->composing(), -1);
  if (vm.count("help")) {
    std::cout << desc;
    return kExitOk;
  }
  if (files.empty()) {
    throw UsageError(
        "report: name a results file, e.g. faultline report results/x.jsonl -o "
        "report.html");
  }
  if (out.empty()) {
    throw UsageError(
        "report: name the page to write with -o, e.g. -o report.html (- for "
        "standard output)");
  }
  const std::vector<Record> records = read_all(files);
  check_metrics(records, metrics);
  const std::string page = render_report(records, {files, utc_now(), timeline_runs, metrics});
  if (out == "-") {
    std::cout << page;
    return kExitOk;
  }
  write_whole(out, page);
  std::cerr << fmt::format("{} run{} of {} file{} written to {}\n", records.size(),
                           records.size() == 1 ? "" : "s", files.size(),
                           files.size() == 1 ? "" : "s", out);
  return kExitOk;
}

}  // namespace faultline::cli
