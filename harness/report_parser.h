// Turns sanitizer and runtime reports found in a run's captured output into structured symptoms.
//
// Understood: ThreadSanitizer (GCC and Clang builds), AddressSanitizer, UndefinedBehaviorSanitizer
// runtime errors, LeakSanitizer, glibc's fatal messages (malloc consistency checks, stack
// smashing, assertion failures) and the Go runtime (race detector, fatal map errors). Text that
// is none of these is ignored.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace faultline {

struct Frame {
  std::string function;  // demangled as printed, "" when the report had none
  std::string location;  // "file.cpp:12" or "(binary+0x1234)"
};

struct Symptom {
  std::string kind;     // snake_case: data_race, heap_use_after_free, memory_leak, ...
  std::string source;   // tsan, asan, ubsan, lsan, glibc, go, signal, scenario
  std::string summary;  // one line: the report's SUMMARY or headline
  std::vector<Frame> frames;  // top frames of the report's first stack (at most 8)
  std::string report;         // the raw report text
  std::uint64_t count = 1;    // how many reports this symptom stands for
};

std::vector<Symptom> parse_reports(std::string_view text);

}  // namespace faultline
