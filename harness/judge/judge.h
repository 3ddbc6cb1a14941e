// The judge: one function from a run and its expectation to the run's outcome. The record's
// verdict, the run summary, sweep, compare, export, JUnit, score and every exit code take their
// answer from here (docs/record-schema.md, "Verdicts").
//
// Outcomes:
//   reproduced      the incident was expected and its symptom was seen
//   not_reproduced  the incident was expected; the run completed, entered the window, and was clean
//   fix_failed      the run was expected clean and the incident's symptom was seen
//   clean           no symptom; the run completed and entered the window
//   unexpected      a symptom that is not the incident (shown, never counted as a reproduction)
//   observed        the incident's symptom in a run that is not judged; where nothing says what
//                   the incident looks like (schema-1 records, exec without --expect), any symptom
//   unknown         the run proves nothing: it broke, timed out, ran out of a resource, or never
//                   entered the window. A run that ran out of a resource counts as the incident
//                   only through a sanitizer's or a runtime's report, never through its own
//                   oracle or a signal, which the exhaustion itself may have caused.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/scenario/expectation.h"

namespace faultline {

enum class Outcome {
  kReproduced,
  kNotReproduced,
  kFixFailed,
  kClean,
  kUnexpected,
  kObserved,
  kUnknown
};
std::string_view outcome_name(Outcome outcome);
std::optional<Outcome> parse_outcome(std::string_view name);

// The incident's symptom was seen: reproduced, fix_failed, or observed (in a run not judged).
bool is_hit(Outcome outcome);
// The run says something about the incident either way (every outcome but unknown).
bool is_decided(Outcome outcome);

// What the judge looks at in a run.
struct RunFacts {
  struct SymptomFacts {
    std::string kind;
    std::string source;  // tsan, asan, ubsan, lsan, glibc, go, signal, scenario
    std::string summary;
    std::vector<std::string> functions;  // the frames' functions, top first
    std::string report;                  // raw text (its stack lines are searched for a frame)
  };
  std::vector<SymptomFacts> symptoms;
  std::map<std::string, double> metrics;
  // Set when the run did not complete: did not start, timed out, exited non-zero or without
  // `done` and with no symptom to explain it.
  std::optional<std::string> broken;
};

struct Record;

struct Judgement {
  Outcome outcome = Outcome::kUnknown;
  std::string reason;                 // one line: why
  std::vector<std::size_t> incident;  // indexes of the symptoms that matched the incident
  std::vector<std::size_t> other;     // indexes of the other symptoms
};

bool pattern_matches(const SymptomPattern& pattern, const RunFacts::SymptomFacts& symptom);

Judgement judge(const RunFacts& facts, const Expectation& expectation);

// From a record (schema 1 or 2; harness/record/record.h): its symptoms, metrics and completion. A
// schema-1 record has no completion field: record_from_json reads its verdict `unknown` as a
// broken run, and its expectation as kNone (source "none").
RunFacts facts_of(const Record& record);
Judgement judge_record(const Record& record);

// The judgement of a group of runs of one experiment (one ExperimentKey, one expectation).
enum class GroupStatus { kMet, kMissed, kUnknown, kNotJudged };
std::string_view group_status_name(GroupStatus status);

// kIncident: met when a run reproduced; missed when none did and at least one was decided.
// kClean: missed when a run showed any symptom (fix_failed or unexpected); met when at least one
// run was clean. Unknown when no run was decided. kNone: not judged.
GroupStatus group_status(Expect expect, const std::vector<Outcome>& outcomes);

}  // namespace faultline
