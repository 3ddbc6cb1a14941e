// How fast the driver turns captured output into symptoms, against the size of the output: the
// parser must stay linear, because a run can hand it the full 2 x 4 MiB capture.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <string>

#include "harness/parse/report_parser.h"

namespace {

std::string load(const std::string& name) {
  std::ifstream in(std::string(FAULTLINE_REPORTS_DIR) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `lines` lines of ordinary program output with a TSan report every 10000 lines.
std::string make_output(std::int64_t lines) {
  static const std::string report = load("tsan_data_race.gcc.txt");
  std::string text;
  for (std::int64_t i = 0; i < lines; ++i) {
    if (i % 10000 == 0) text += report;
    text += "worker 3: request 1234 served in 17 us\n";
  }
  return text;
}

void BM_ParseReports(benchmark::State& state) {
  const std::string text = make_output(state.range(0));
  std::size_t symptoms = 0;
  for (auto _ : state) {
    auto result = faultline::parse_reports(text);
    symptoms = result.size();
    benchmark::DoNotOptimize(result);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  state.counters["symptoms"] = static_cast<double>(symptoms);
  state.counters["MiB"] = static_cast<double>(text.size()) / (1 << 20);
}
BENCHMARK(BM_ParseReports)
    ->RangeMultiplier(4)
    ->Range(1 << 10, 1 << 18)
    ->Unit(benchmark::kMillisecond);

void BM_ParseOneTsanReport(benchmark::State& state) {
  const std::string text = load("tsan_data_race.gcc.txt");
  for (auto _ : state) benchmark::DoNotOptimize(faultline::parse_reports(text));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ParseOneTsanReport);

}  // namespace
