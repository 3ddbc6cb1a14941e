// Ending a run at its answer (`--end-at-answer`): the child's stderr is watched as it arrives,
// and once a complete report in it shows the incident the run expects, nothing the rest of the
// run does can change its verdict, so the driver ends it there. Under TSan a run goes on for
// seconds after its first report (docs/performance.md); this is where that time comes back.
//
// Only an incident expectation can be met early: a clean run is only clean at its end.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "harness/parse/symbolize.h"
#include "harness/scenario/expectation.h"

namespace faultline {

class AnswerWatch {
 public:
  // With a `symbolizer`, a report's unsymbolized frames are symbolized before they are matched
  // (the expectation may name a function).
  explicit AnswerWatch(const Expectation& expectation, Symbolizer* symbolizer = nullptr);

  // Whether the watch can ever say yes: the expectation is an incident.
  static bool applies(const Expectation& expectation);

  // The next chunk of stderr, in order. True once a complete report (its closing line has
  // arrived) matches one of the incident's patterns; true from then on.
  bool feed(std::string_view chunk);

 private:
  // A line that may close a report: TSan's and Go's "==================", or a SUMMARY line.
  static bool may_close_a_report(std::string_view line);
  bool complete_report_matches(std::size_t end);

  std::vector<SymptomPattern> incident_;
  Symbolizer* symbolizer_ = nullptr;
  std::string text_;         // stderr so far, from the first report not yet consumed
  std::size_t scanned_ = 0;  // text_[0, scanned_) is whole lines already looked at
  std::size_t parses_ = 0;   // bounded: a stream of look-alike lines must not cost O(n^2)
  bool answered_ = false;
  bool gave_up_ = false;
};

}  // namespace faultline
