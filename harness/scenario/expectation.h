// What a run of a variant in one build is expected to show, stated as data in the scenario's
// spec (like a lit test's CHECK line): the incident, given as one or more symptom patterns, or
// clean. The driver judges every run against its expectation (harness/judge/judge.h); nothing is
// inferred from a variant's name.
//
// Text form, as `faultline list`, --describe and docs/scenarios/ show it:
//   buggy@tsan: incident data_race:decode_divide_reply  (reached when decoded_after_timeout>0)
//   fixed@*: clean  (reached when late_replies_dropped>0)
//   buggy@none: not judged (no detector in this build sees the race)
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline {

struct ScenarioSpec;

// A symptom of kind `kind`; with `frame`, only one whose report has a stack frame whose
// function contains that text.
struct SymptomPattern {
  std::string kind;
  std::string frame = {};
  std::string text() const;  // "kind" or "kind:frame"
};

// "kind" or "kind:frame". Throws std::invalid_argument naming the problem.
SymptomPattern parse_symptom_pattern(std::string_view text);

// A condition on one of the run's metrics: "late_replies_dropped>0". Operators: > >= < <= ==.
struct ReachCondition {
  std::string metric;
  std::string op;
  double value = 0;
  std::string text() const;
  bool holds(double metric_value) const;
};
ReachCondition parse_reach_condition(std::string_view text);  // throws std::invalid_argument

enum class Expect {
  kIncident,  // the incident must show (a buggy variant in a build that can see it)
  kClean,     // no symptom at all (a fixed variant)
  kNone,      // nothing is judged (a build that cannot see this incident), with the reason
};
std::string_view expect_name(Expect expect);  // incident, clean, none

struct Expectation {
  std::string variant;
  std::string sanitizer = "*";  // none, tsan, asan, or * for every build
  Expect expect = Expect::kNone;
  // kIncident: any one of these is the incident. kClean: filled in by resolve_expectation with
  // what the incident looks like in this build, so a failed fix is told from an unrelated
  // symptom. kNone: optional, what the incident would look like (used by `faultline score`).
  std::vector<SymptomPattern> incident = {};
  // Any one of these conditions shows the run entered the bad window. A run that saw no
  // symptom and meets none of them is unknown: it proves neither reproduction nor a fix.
  std::vector<std::string> reach = {};
  // kNone: why nothing is expected; kClean with no reach: why no metric can show the window.
  std::string why = {};
  // Where the expectation came from: "spec" (the scenario's), "--expect" (exec), or "none".
  std::string source = "spec";

  std::string text() const;
};

// Builders for a scenario's spec.
Expectation expect_incident(std::string variant, std::string sanitizer,
                            std::vector<SymptomPattern> incident,
                            std::vector<std::string> reach = {});
Expectation expect_clean(std::string variant, std::string sanitizer, std::vector<std::string> reach,
                         std::string why = {});
Expectation expect_nothing(std::string variant, std::string sanitizer, std::string why,
                           std::vector<SymptomPattern> would_look_like = {});

nlohmann::json expectation_to_json(const Expectation& e);
// Throws std::invalid_argument naming the field that is missing or wrong.
Expectation expectation_from_json(const nlohmann::json& json);

// Every symptom kind the driver can report: the report parsers' (TSan, ASan, UBSan, LSan,
// glibc, Go), "crash" for a death by signal, and the observation kinds faultline's scenarios
// report. A scenario's own observation kinds (ScenarioSpec::observes) count too.
const std::vector<std::string>& known_symptom_kinds();

// Problems with one expectation ("" when none): an unknown symptom kind (naming the near
// ones), resource_exhausted as an incident, a malformed reach condition, a kNone without why.
std::string check_expectation(const Expectation& e, const std::vector<std::string>& extra_kinds);

// Every problem with a spec's expectations, one line each: those of check_expectation, rows for
// unknown variants or sanitizers, and rows given twice.
std::vector<std::string> check_expectations(const ScenarioSpec& spec);

// The expectation of `variant` under `sanitizer` (none, tsan, asan): the row for that build,
// else the row for *, else kNone with the reason that the spec states none. A kClean row gets
// the incident patterns of every kIncident row of the same build.
Expectation resolve_expectation(const ScenarioSpec& spec, const std::string& variant,
                                const std::string& sanitizer);

}  // namespace faultline
