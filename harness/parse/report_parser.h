// Turns sanitizer and runtime reports found in a run's captured output into structured symptoms.
//
// Understood: ThreadSanitizer (GCC and Clang builds), AddressSanitizer, UndefinedBehaviorSanitizer
// runtime errors, LeakSanitizer, glibc's and libstdc++'s fatal messages (malloc consistency
// checks, stack smashing, assertion failures, uncaught exceptions) and the Go runtime (race
// detector, fatal errors, panics). Text that is none of these is ignored. Reports may be
// interleaved with other output and cut by the runner's "[faultline: N bytes dropped here]"
// marker; a cut report still yields its symptom, marked truncated.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace faultline {

struct Frame {
  std::string function;  // demangled as printed ("" when the report had none); Go: no arguments
  std::string location;  // "file.cpp:12" or "(binary+0x1234)"
};

struct Symptom {
  std::string kind;     // snake_case: data_race, heap_use_after_free, memory_leak, ...
  std::string source;   // tsan, asan, ubsan, lsan, glibc, go, signal, scenario; exec: exit, output
  std::string summary;  // one line: the report's SUMMARY or headline
  // A finer class where the report has one: UBSan's check name (signed-integer-overflow,
  // alignment, null, bounds, shift, ...), TSan's "vptr" for a data race on a vptr and
  // "virtual_call" for its use-after-free variant. "" otherwise.
  std::string subkind;
  // Top frames of the report's first stack (at most 8). Leading frames inside the runtime
  // (sanitizer interceptors, malloc/free, pthread, libstdc++ headers, Go's runtime package) are
  // dropped, so frames[0] is the program's own function; all are kept when every one is runtime.
  std::vector<Frame> frames;
  std::string report;       // the raw report text (at most 64 KiB)
  std::uint64_t count = 1;  // how many reports this symptom stands for (see parse_reports)
  bool truncated = false;   // the text was cut (marker or end of text) before the report's end
};

// Symptoms in the order their reports appear. count is 1 except: a TSan thread leak counts the
// "And N more similar thread leaks"; a leak report counts the leaked allocations (as its
// SUMMARY says); UBSan errors of one check (subkind) are one symptom counting every error, with
// the first one's summary, frames and text. Linear in the size of the text.
std::vector<Symptom> parse_reports(std::string_view text);

}  // namespace faultline
