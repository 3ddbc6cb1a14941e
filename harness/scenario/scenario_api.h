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

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "harness/probe/histogram.h"
#include "harness/probe/latency_series.h"
#include "harness/probe/measure.h"
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
  // No default: the parameter is absent unless a --set gives it (Params::has), and its absence
  // means something of its own (rpc-timeout-race without `rate`: the seed's burst).
  bool optional = false;
};

// One-line parameter specs for a scenario's table: a whole number in [min, max], a real number
// in [min, max], or a string from `choices`.
ParamSpec int_param(std::string name, std::int64_t default_value, double min, double max,
                    std::string help);
ParamSpec real_param(std::string name, double default_value, double min, double max,
                     std::string help);
ParamSpec text_param(std::string name, std::string default_value, std::vector<std::string> choices,
                     std::string help);
// A real number in [min, max] that has no default (ParamSpec::optional).
ParamSpec optional_real_param(std::string name, double min, double max, std::string help);
// The `rate` of a scenario whose load can run open loop (docs/latency.md): `what` per second
// (e.g. "callers start"), each timed from when it was due; unset, the seed's own load.
ParamSpec open_loop_rate_param(std::string_view what, double max);

struct ScenarioSpec {
  std::string id;                     // kebab-case (docs/writing-a-scenario.md)
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

  // Whether the parameter has a value: always, but for an optional one no --set gave.
  bool has(std::string_view name) const { return values_.count(std::string(name)) > 0; }
  std::int64_t integer(std::string_view name) const;
  double real(std::string_view name) const;
  // An optional parameter's value, or nothing when no --set gave it.
  std::optional<double> optional_real(std::string_view name) const {
    return has(name) ? std::optional(real(name)) : std::nullopt;
  }
  bool boolean(std::string_view name) const;
  const std::string& text(std::string_view name) const;
  // The same whole number in the types a body uses it as (parameter bounds keep it in range).
  int number(std::string_view name) const { return static_cast<int>(integer(name)); }
  std::size_t count(std::string_view name) const { return static_cast<std::size_t>(integer(name)); }
  std::chrono::milliseconds ms(std::string_view name) const {
    return std::chrono::milliseconds(integer(name));
  }
  std::chrono::microseconds us(std::string_view name) const {
    return std::chrono::microseconds(integer(name));
  }
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
  // A duration as a metric in milliseconds (unit "ms").
  void millis(std::string_view name, std::chrono::steady_clock::duration d) {
    metric(name, std::chrono::duration<double, std::milli>(d).count(), "ms");
  }
  // Each measure as a metric, in order (a server's stats().measures(), say).
  void metrics(const Measures& measures);
  // An oracle check: `count` occurrences of symptom `kind` (0 = checked and not seen). The
  // driver turns a count above 0 into a symptom of the run. `first_seen` (FirstSeen::when(),
  // harness/probe/first_seen.h): when the scenario saw the first one, for the record's
  // first_symptom_s; without it the symptom has no time.
  void observation(std::string_view kind, std::uint64_t count, std::string_view detail = "",
                   std::optional<std::chrono::steady_clock::time_point> first_seen = {});
  // One point of a time series (thread count over time, say); t in seconds on the run clock
  // (harness/probe/run_clock.h: run_seconds()), as for timeline events.
  void sample(std::string_view series, double t_seconds, double value);
  // A line of free text for the record.
  void note(std::string_view text);
  // Something done to the run at a moment (a nemesis action, a fault switched on), for the
  // record's timeline; t in seconds on the run clock, detail free text.
  void timeline(std::string_view what, double t_seconds, std::string_view detail = "");
  // <prefix>_count, _p50, _p90, _p99, _p999, _max and _mean as metrics, values divided by
  // `divisor` (record nanoseconds, report microseconds with divisor 1000 and unit "us").
  void histogram(std::string_view prefix, const LatencyHistogram& h, double divisor,
                 std::string_view unit);
  // Latency over time as three sample series, one point per bucket (LatencySeries::buckets):
  // <prefix>_p99_<unit> and <prefix>_max_<unit> at each bucket's middle where requests
  // completed, and <prefix>_per_s (completions per second, 0 where none) at every bucket; a note
  // when points were dropped past the cap. Values divided by `divisor`.
  void latency_over_time(std::string_view prefix, const LatencySeries& s, double divisor,
                         std::string_view unit);
  // A load's latencies in one call: the histogram "latency" (from each send), the histogram
  // "latency_corrected" when the load ran open loop (from when each request was due; null when
  // closed loop), and the series over time under the name of the one that counts.
  void load_latency(const LatencyHistogram& latency, const LatencyHistogram* corrected,
                    const LatencySeries& over_time, double divisor, std::string_view unit);
  // The scenario's body ran to its end. A run without it never counts as passed.
  void done();

 private:
  void emit(const nlohmann::json& event);
  int fd_ = -1;
};

struct Context;

// A server of the scenario's own, whose handler holds the incident's BUG: and FIX: lines. The
// body runs it in this process, or (the "process" fault family) the runtime starts this same
// binary again with --serve, so that a nemesis can pause, kill and restart it:
// harness/nemesis/scenario_server.h chooses. Either way the one serve function builds it.
class ScenarioServer {
 public:
  virtual ~ScenarioServer() = default;
  virtual std::uint16_t port() const = 0;
  virtual void stop() = 0;
  // What it served, one line: printed by a --serve process when it stops.
  virtual std::string summary() const { return {}; }
  // Its counters, for the body's report. A --serve process appends them to a file every 50 ms
  // and when it stops, where the body reads them (harness/scenario/server_counters.h).
  virtual Measures measures() const { return {}; }
  // An event the body sends its server when the load calls for it (listener-lifetime: the
  // collection cycle): called in process; a --serve process calls it on SIGUSR1.
  virtual void poke() {}
};

struct ServeOptions {
  std::uint16_t port = 0;  // 0: any free port
  // A file for what must outlive a killed server (its committed data), shared by every
  // incarnation of a --serve process and read by the body after the run; "" in process.
  std::string state_path = {};
};

using ServeFn = std::function<std::unique_ptr<ScenarioServer>(Context&, const ServeOptions&)>;

// A ScenarioServer around a server object (of servers/) with port(), stop() and summary(), and
// measures() if it has them, constructed from the arguments given.
template <class Server>
class Hosted final : public ScenarioServer {
 public:
  template <class... Args>
  explicit Hosted(Args&&... args) : server(std::forward<Args>(args)...) {}
  std::uint16_t port() const override { return server.port(); }
  void stop() override { server.stop(); }
  std::string summary() const override { return server.summary(); }
  Measures measures() const override {
    if constexpr (requires { server.measures(); }) {
      return server.measures();
    } else {
      return {};
    }
  }
  Server server;
};

// The serve function of a ScenarioServer type constructed as Server(Context&, const ServeOptions&).
template <class Server>
ServeFn serve_with() {
  return [](Context& ctx, const ServeOptions& options) {
    return std::make_unique<Server>(ctx, options);
  };
}

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
  // The scenario's serve function, if it has a server of its own (null otherwise).
  const ServeFn* serve = nullptr;

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
  // --serve: run only the scenario's server until SIGINT or SIGTERM (on --port, keeping its
  // state in --state), printing "listening on 127.0.0.1:<port>" once it accepts connections.
  bool serve = false;
  int port = 0;
  std::string state_path = {};
};
// The words after the program name, always beginning "--variant V --seed N".
std::vector<std::string> scenario_argv(const ScenarioArgs& args);
// Throws std::invalid_argument naming the bad word.
ScenarioArgs parse_scenario_args(int argc, const char* const* argv);

// Parses the scenario command line (parse_scenario_args), then calls body. Returns the process exit
// code: body's, or 2 for a bad command line.
int scenario_main(int argc, char** argv, const ScenarioSpec& spec,
                  const std::function<int(Context&)>& body);
// The same for a scenario with a server of its own: `serve` builds it, for the body (through
// Context::serve) and for --serve.
int scenario_main(int argc, char** argv, const ScenarioSpec& spec,
                  const std::function<int(Context&)>& body, ServeFn serve);

}  // namespace faultline
