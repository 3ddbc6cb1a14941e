// The report-channel decoder (harness/run/executor.h, read_scenario_report) on an arbitrary
// channel file: never throws, and holds to its caps (docs/report-protocol.md).
#include <cstddef>
#include <cstdint>

#include "harness/run/executor.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static faultline::fuzz::InputFile file;
  const faultline::ScenarioReport report = faultline::read_scenario_report(file.hold(data, size));
  // One note more than the cap: the marker saying what the caps dropped.
  FUZZ_CHECK(report.notes.size() <= 201, "more notes than the cap");
  for (const auto& note : report.notes) {
    FUZZ_CHECK(note.size() <= 4096 + 128, "a note above its cap");
  }
  FUZZ_CHECK(report.metrics.size() <= 1000, "more metrics than the cap");
  FUZZ_CHECK(report.observations.size() <= 1000, "more observations than the cap");
  FUZZ_CHECK(report.samples.size() <= 100, "more series than the cap");
  for (const auto& [name, points] : report.samples) {
    FUZZ_CHECK(points.size() <= 2000, "more points in a series than the cap");
  }
  FUZZ_CHECK(report.timeline.size() <= 2000, "more timeline events than the cap");
  return 0;
}
