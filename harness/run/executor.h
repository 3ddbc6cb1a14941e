// One run, start to record: launch the child through the runner, read its report channel, parse
// sanitizer reports, decide the verdict, and build the JSON record (docs/record-schema.md).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness/parse/report_parser.h"
#include "harness/parse/symbolize.h"
#include "harness/plan/catalog.h"
#include "harness/record/record.h"
#include "harness/run/runner.h"
#include "harness/scenario/expectation.h"

namespace faultline {

// Faults injected into a run (docs/faults.md), passed to the scenario binary as --fault,
// --perturb and --nemesis and recorded with the run.
struct Injection {
  std::vector<std::string> faults;   // network faults, as given (kind:key=value,...)
  std::string perturb;               // scheduling perturbation, "" = off
  std::vector<std::string> nemesis;  // process faults, as given
  // --fault-plan, whole (fault_plan_json), for the record; null when none. Its phases are
  // already compiled into `faults` and `nemesis`.
  nlohmann::json fault_plan;
  bool empty() const { return faults.empty() && perturb.empty() && nemesis.empty(); }
};

struct RunPlan {
  std::string scenario;  // scenario id, or the label of an `exec` command
  std::string variant;   // "" for exec
  Sanitizer sanitizer = Sanitizer::kNone;
  std::map<std::string, std::string> params;  // every parameter, defaults included
  std::uint64_t seed = 0;
  std::uint64_t repeat_index = 0;
  Injection injection;
  std::vector<std::string> argv;  // the child's full command line
  std::string replay;             // the faultline command line that replays this run
  bool scenario_protocol = true;  // a faultline scenario: a completed run reports `done`
  Expectation expectation;        // what the run is judged against (harness/judge/judge.h)
  std::optional<RecordedCampaign> campaign;  // the sweep it belongs to, if any
  // exec's own oracles: exit codes that are the symptom `exit_code`, and ECMAScript patterns a
  // line of stdout or stderr matches for the symptom `output_match`.
  std::vector<int> fail_exit;
  std::vector<std::string> fail_output;
  std::string cwd;  // the child's working directory; "" for the driver's
};

struct RunSettings {
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  RunLimits limits;
  std::size_t output_cap_bytes = 4u << 20;
  std::vector<std::pair<std::string, std::string>> env;  // on top of the sanitizer options
  nlohmann::json build = nlohmann::json::object();       // provenance (build_info.json)
  nlohmann::json host = nlohmann::json::object();
  // --end-at-answer: a run expecting an incident is killed once a complete report on its stderr
  // shows it (harness/judge/answer.h); recorded as exit.ended_at_answer.
  bool end_at_answer = false;
};

// What the scenario wrote to its report channel.
struct ScenarioReport {
  std::map<std::string, Metric> metrics;
  std::vector<Observation> observations;
  std::map<std::string, std::vector<std::pair<double, double>>> samples;  // series -> (t, value)
  std::map<std::string, RecordedHistogram> histograms;
  std::vector<std::string> notes;
  std::vector<TimelineEvent> timeline;  // in report order
  // When the scenario first saw each kind it observed (steady_clock, ns): the earliest per kind.
  std::map<std::string, std::int64_t> first_seen_ns;
  bool done = false;
  std::size_t bad_lines = 0;  // lines that were not valid events (a torn last line, say)
};
ScenarioReport read_scenario_report(const std::string& path);

// Why a run did not complete, or nothing when it did. A run with no symptom is broken when it
// did not start, was cancelled, timed out, was killed, exited non-zero, or (a scenario) ended
// without `done`. A run that timed out is broken even with symptoms; otherwise a symptom
// explains a non-zero exit (TSan's 66, a crash) and the run counts as complete.
std::optional<std::string> run_broken(const RunResult& result, const std::vector<Symptom>& symptoms,
                                      const ScenarioReport& report, bool scenario_protocol);

// Symptoms of a run: sanitizer and runtime reports from its output, a death by signal the
// driver did not cause, and the scenario's observations with a count above zero. Repeated
// reports of one kind at one place are merged into one symptom with a count. Reports printed by
// a process that then exited 0 are not believed (no runtime that prints one exits 0): each is
// described in `suspicious` instead. With a `symbolizer`, frames the runtime left unsymbolized
// (sanitizer_env asks for that when the driver has one) are symbolized before they are parsed.
std::vector<Symptom> collect_symptoms(const RunResult& result, const ScenarioReport& report,
                                      std::vector<std::string>* suspicious = nullptr,
                                      Symbolizer* symbolizer = nullptr);

// Environment for a child under a sanitizer: report options that keep runs fast and reports
// complete. A user's own *SAN_OPTIONS come after ours, so theirs win.
std::vector<std::pair<std::string, std::string>> sanitizer_env(Sanitizer sanitizer);

nlohmann::json host_info();

// Runs one plan and returns its record. When `cancel` stops it, `*cancelled` is set and the
// record must not be kept.
Record execute_run(const RunPlan& plan, const RunSettings& settings,
                   const std::atomic<bool>* cancel, bool* cancelled);

}  // namespace faultline
