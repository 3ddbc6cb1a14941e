#include "harness/judge/answer.h"

#include "harness/judge/judge.h"
#include "harness/parse/report_parser.h"

namespace faultline {
namespace {

// Past these the watch stops looking and the run goes on to its end, as without the option.
constexpr std::size_t kMaxWatchedBytes = 4u << 20;
constexpr std::size_t kMaxParses = 1000;

RunFacts::SymptomFacts facts_of(const Symptom& s) {
  RunFacts::SymptomFacts f;
  f.kind = s.kind;
  f.source = s.source;
  f.summary = s.summary;
  f.report = s.report;
  for (const auto& frame : s.frames) f.functions.push_back(frame.function);
  return f;
}

}  // namespace

AnswerWatch::AnswerWatch(const Expectation& expectation, Symbolizer* symbolizer)
    : symbolizer_(symbolizer) {
  if (applies(expectation)) incident_ = expectation.incident;
}

bool AnswerWatch::applies(const Expectation& expectation) {
  return expectation.expect == Expect::kIncident && !expectation.incident.empty();
}

bool AnswerWatch::may_close_a_report(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line == "==================" || line.starts_with("SUMMARY: ");
}

// Parses the text up to `end` (just past a closing line). A report cut short there (the start
// marker of a TSan report, say) is not complete yet: the text is kept for the next closing line.
// Once a complete report has been looked at, its text is dropped.
bool AnswerWatch::complete_report_matches(std::size_t end) {
  if (++parses_ > kMaxParses) {
    gave_up_ = true;
    return false;
  }
  const std::string_view reports = std::string_view(text_).substr(0, end);
  const std::vector<Symptom> symptoms = parse_reports(
      symbolizer_ != nullptr ? symbolizer_->symbolize(reports) : std::string(reports));
  bool any_complete = false;
  for (const auto& s : symptoms) {
    if (s.truncated) continue;
    any_complete = true;
    const RunFacts::SymptomFacts facts = facts_of(s);
    for (const auto& pattern : incident_) {
      if (pattern_matches(pattern, facts)) return true;
    }
  }
  if (any_complete) {
    text_.erase(0, end);
    scanned_ -= end;
  }
  return false;
}

bool AnswerWatch::feed(std::string_view chunk) {
  if (answered_ || gave_up_ || incident_.empty()) return answered_;
  if (text_.size() + chunk.size() > kMaxWatchedBytes) {
    gave_up_ = true;
    return false;
  }
  text_.append(chunk);
  for (std::size_t nl; (nl = text_.find('\n', scanned_)) != std::string::npos;) {
    const std::string_view line = std::string_view(text_).substr(scanned_, nl - scanned_);
    scanned_ = nl + 1;
    if (may_close_a_report(line) && complete_report_matches(scanned_)) {
      answered_ = true;
      break;
    }
    if (gave_up_) break;
  }
  return answered_;
}

}  // namespace faultline
