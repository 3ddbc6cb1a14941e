// faultline export: a results file as CSV (spreadsheets, notebooks) or JUnit XML (CI dashboards).
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "harness/cli/cli.h"
#include "harness/judge/summary.h"
#include "harness/record/results_file.h"
#include "harness/render/export.h"

namespace faultline::cli {
namespace po = boost::program_options;

int export_results(const Args& args) {
  std::string file;
  std::string format;
  std::string out;
  po::options_description desc(
      "usage: faultline export FILE --format csv|junit [--out PATH]\n\n"
      "Writes results file FILE as CSV (one row per run, every parameter and metric a column) or\n"
      "JUnit XML (each run a test case; a buggy variant that did not reproduce or a fixed one\n"
      "that did is a failure, an unknown run an error). See docs/compare.md.\n\n"
      "examples:\n"
      "  faultline export results/catchall-fatal.jsonl --format csv --out runs.csv\n"
      "  faultline export results/catchall-fatal.jsonl --format junit --out junit.xml\n\n"
      "options");
  desc.add_options()("help,h", "this text")("format", po::value(&format), "csv or junit")(
      "out", po::value(&out), "write here instead of to standard output (- is standard output)");
  auto vm = parse("export", args, desc, "file", po::value(&file), 1);
  if (vm.count("help")) {
    std::cout << desc;
    return kExitOk;
  }
  if (file.empty()) {
    throw UsageError(
        "export: name a results file, e.g. faultline export results/x.jsonl "
        "--format csv");
  }
  if (format != "csv" && format != "junit") {
    throw UsageError(format.empty()
                         ? "export: choose --format csv or --format junit"
                         : fmt::format("--format '{}' is not known: use csv or junit", format));
  }
  std::vector<std::string> warnings;
  auto records = read_records(file, &warnings);
  for (const auto& w : warnings) std::cerr << "warning: " << w << "\n";
  const std::string text =
      format == "csv" ? export_csv(records)
                      : export_junit(records, std::filesystem::path(file).filename().string());
  if (out.empty() || out == "-") {
    std::cout << text;
    return kExitOk;
  }
  std::ofstream o(out, std::ios::binary | std::ios::trunc);
  if (!(o << text) || !o.flush()) {
    throw UsageError(
        fmt::format("cannot write {}: {} (choose another --out)", out, std::strerror(errno)));
  }
  std::cerr << fmt::format("{} run{} written to {}\n", records.size(),
                           records.size() == 1 ? "" : "s", out);
  return kExitOk;
}

}  // namespace faultline::cli
