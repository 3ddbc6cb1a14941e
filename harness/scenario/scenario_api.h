// The contract between a scenario binary and the faultline driver.
//
// A scenario binary is a plain program built in every preset (release, tsan, asan). The driver
// runs it as a child process:
//
//   <build>/scenarios/<id> --variant buggy --seed 42 --set workers=8 --report /tmp/x.jsonl
//   <build>/scenarios/<id> --describe        (the spec below, as JSON, on stdout)
//
// The scenario tells the driver what it measured and observed through the report channel: a
// JSON Lines file (--report PATH, or the FAULTLINE_REPORT environment variable) to which every
// event is appended with one write(2), so a scenario that crashes midway still leaves every
// event it wrote whole. The events are documented in docs/report-protocol.md.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/probe/histogram.h"
#include "harness/scenario/expectation.h"

namespace faultline {

enum class ParamType { kInt, kDouble, kBool, kString };

struct ParamSpec {
  std::string name;  // kebab-case, e.g. "timeout-ms"
  ParamType type = ParamType::kInt;
  std::string default_value;  // as typed on a command line
  std::string help;           // meaning, with the unit
  std::optional<double> min;  // inclusive bounds for numbers
  std::optional<double> max;
  std::vector<std::string> choices;  // allowed values for strings (empty: any)
};

struct ScenarioSpec {
  std::string id;                     // kebab-case id from INCIDENTS.md
  std::string seed;                   // the write-up it recreates, e.g. "000"
  std::string title;                  // the incident in one line
  std::string oracle;                 // the observation that proves it happened
  std::vector<std::string> variants;  // "buggy" and "fixed" first, then any extra modes
  std::vector<ParamSpec> params;
  // Fault families the scenario accepts (docs/faults.md): "tcp" and "udp" (it routes its
  // clients through the fault proxy), "process" (its server can run as a process the nemesis
  // pauses, kills and restarts). Empty: the driver refuses --fault and --nemesis for it.
  std::vector<std::string> faults = {};
  // What each variant shows in each build (harness/scenario/expectation.h): the incident, clean, or
  // nothing judged. Every variant has a row for every build, directly or through "*".
  std::vector<Expectation> expectations = {};
  // Symptom kinds of the scenario's own observations, beyond known_symptom_kinds().
  std::vector<std::string> observes = {};
};

nlohmann::json spec_to_json(const ScenarioSpec& spec);
ScenarioSpec spec_from_json(const nlohmann::json& json);  // throws std::runtime_error

// Checks one raw value against its spec. Returns a message naming the problem and the allowed
// values or range, or nothing when the value is good. The driver and the binary share it.
std::optional<std::string> validate_param(const ParamSpec& spec, std::string_view value);

// Parameter values after defaults and overrides, already validated against the spec.
class Params {
 public:
  Params() = default;
  explicit Params(std::map<std::string, std::string> values) : values_(std::move(values)) {}

  std::int64_t integer(std::string_view name) const;
  double real(std::string_view name) const;
  bool boolean(std::string_view name) const;
  const std::string& text(std::string_view name) const;
  const std::map<std::string, std::string>& all() const { return values_; }

 private:
  std::map<std::string, std::string> values_;
};

// Resolves defaults and key=value overrides against a spec; throws std::invalid_argument with a
// user-facing message for an unknown key or a bad value.
Params resolve_params(const ScenarioSpec& spec, const std::vector<std::string>& overrides);

// Names from `candidates` within a small edit distance of `name` (or containing it), closest
// first, at most three: for "did you mean" hints.
std::vector<std::string> near_names(const std::string& name,
                                    const std::vector<std::string>& candidates);

// The scenario's side of the report channel. Thread-safe: every event is one write(2) with
// O_APPEND. With no path every call is a no-op, so a binary run by hand works the same.
class Reporter {
 public:
  explicit Reporter(const std::string& path);
  ~Reporter();
  Reporter(const Reporter&) = delete;
  Reporter& operator=(const Reporter&) = delete;

  // A number the scenario measured (a count, a latency, a rate), with its unit.
  void metric(std::string_view name, double value, std::string_view unit = "");
  // An oracle check: `count` occurrences of symptom `kind` (0 = checked and not seen). The
  // driver turns a count above 0 into a symptom of the run.
  void observation(std::string_view kind, std::uint64_t count, std::string_view detail = "");
  // One point of a time series (thread count over time, say); t in seconds since start.
  void sample(std::string_view series, double t_seconds, double value);
  // A line of free text for the record.
  void note(std::string_view text);
  // Something done to the run at a moment (a nemesis action, a fault switched on), for the
  // record's timeline; t in seconds since start, detail free text.
  void timeline(std::string_view what, double t_seconds, std::string_view detail = "");
  // <prefix>_count, _p50, _p90, _p99, _p999, _max and _mean as metrics, values divided by
  // `divisor` (record nanoseconds, report microseconds with divisor 1000 and unit "us").
  void histogram(std::string_view prefix, const LatencyHistogram& h, double divisor,
                 std::string_view unit);
  // The scenario's body ran to its end. A run without it never counts as passed.
  void done();

 private:
  void emit(const nlohmann::json& event);
  int fd_ = -1;
};

struct Context {
  const ScenarioSpec& spec;
  std::string variant;
  std::uint64_t seed = 0;
  Params params;
  Reporter& report;
  // Faults asked for on the command line, as given (--fault, repeatable; --perturb; --nemesis).
  // Every scenario whose spec lists a fault family must honour them; see docs/faults.md.
  std::vector<std::string> faults = {};
  std::string perturb = {};
  std::vector<std::string> nemesis = {};

  bool is(std::string_view v) const { return variant == v; }
};

// The command line between the driver and a scenario binary, one definition for both ends: the
// driver builds it with scenario_argv, the binary reads it with parse_scenario_args.
struct ScenarioArgs {
  std::string variant;  // "" = the spec's first
  std::uint64_t seed = 1;
  std::vector<std::string> sets = {};  // parameter overrides, key=value
  std::string report_path = {};        // --report; the binary falls back to $FAULTLINE_REPORT
  std::vector<std::string> faults = {};
  std::string perturb = {};
  std::vector<std::string> nemesis = {};
  bool describe = false;  // --describe: print the spec as JSON
  bool help = false;
};
// The words after the program name, always beginning "--variant V --seed N".
std::vector<std::string> scenario_argv(const ScenarioArgs& args);
// Throws std::invalid_argument naming the bad word.
ScenarioArgs parse_scenario_args(int argc, const char* const* argv);

// Parses the scenario command line (parse_scenario_args), then calls body. Returns the process exit
// code: body's, or 2 for a bad command line.
int scenario_main(int argc, char** argv, const ScenarioSpec& spec,
                  const std::function<int(Context&)>& body);

}  // namespace faultline
