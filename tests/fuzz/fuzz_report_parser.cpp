// The sanitizer and runtime report parser (harness/parse/report_parser.h) on arbitrary output:
// every symptom it finds has a kind and a source, at most 8 frames and at most 64 KiB of report.
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "harness/parse/report_parser.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto symptoms = faultline::parse_reports(faultline::fuzz::as_text(data, size));
  for (const auto& s : symptoms) {
    if (s.kind.empty() || s.source.empty()) {
      std::fprintf(stderr, "symptom: kind '%s' source '%s' summary '%s'\n", s.kind.c_str(),
                   s.source.c_str(), s.summary.c_str());
    }
    FUZZ_CHECK(!s.kind.empty() && !s.source.empty(), "a symptom without kind or source");
    FUZZ_CHECK(s.frames.size() <= 8, "more than 8 frames kept");
    FUZZ_CHECK(s.report.size() <= 64 * 1024 + 256, "a report text above its cap");
    FUZZ_CHECK(s.count >= 1, "a symptom that stands for no report");
  }
  return 0;
}
