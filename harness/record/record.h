// The run record: one line of a results file, as one typed value (docs/record-schema.md,
// docs/record.schema.json). The executor fills a Record and writes it with record_to_json; every
// reader (summary, sweep, compare, export, replay, score, the judge) reads it with
// record_from_json, which checks each field's type once and gives every optional field one
// default. Nothing else in the driver reads a record by string key.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "harness/parse/report_parser.h"
#include "harness/probe/histogram.h"
#include "harness/scenario/expectation.h"

namespace faultline {

// 2: records carry their expectation, completion and the judge's verdict (docs/record-schema.md).
// Schema 1 records (verdict failed/passed/unknown, no expectation) are still read.
inline constexpr int kRecordSchemaVersion = 2;
inline constexpr int kOldestRecordSchemaVersion = 1;

// A number the scenario reported, with its unit ("" when it has none).
struct Metric {
  double value = 0;
  std::string unit = {};
};

// What a scenario's own oracle saw: `count` occurrences of `kind` (0: looked, saw none).
struct Observation {
  std::string kind;
  std::uint64_t count = 0;
  std::string detail = {};
};

// A latency distribution the scenario reported, whole (docs/latency.md): values in nanoseconds,
// shown in `unit` after dividing by `divisor`. Runs of an experiment merge into one distribution.
struct RecordedHistogram {
  std::string unit = {};
  double divisor = 1;
  LatencyHistogram histogram = {};
};

struct TimelineEvent {
  double t = 0;  // seconds since the scenario started
  std::string what;
  std::string detail = {};
};

// A network fault as recorded: the text given, and its parsed kind and parameters.
struct RecordedFault {
  std::string spec;
  std::string kind = {};
  std::map<std::string, std::string> params = {};
};

// Resource limits the run was held to (unset: no limit).
struct RecordedLimits {
  double timeout_s = 60;
  std::optional<std::uint64_t> open_files;
  std::optional<std::uint64_t> address_space_bytes;
  std::optional<std::uint64_t> processes;
  std::optional<std::uint64_t> threads;
  std::string threads_enforced_by = {};  // with `threads`: cgroup pids.max or RLIMIT_NPROC
  // The limits that are part of the experiment key (every one but the timeout), as text.
  std::map<std::string, std::string> key_fields() const;
};

// How the child ended.
struct RecordedExit {
  bool started = true;
  std::optional<int> code;            // unset when it did not exit normally
  std::optional<std::string> signal;  // "SIGSEGV", ...
  bool core_dumped = false;
  bool timed_out = false;
  bool escalated_to_kill = false;
  std::uint64_t max_rss_bytes = 0;
  std::string start_error = {};  // when !started
  // How the run's descendants were held: "cgroup2" (cgroup.kill) or "process group"; "" in
  // records written before it was recorded.
  std::string contained_by = {};
  // Processes that had left the run's process group and outlived its leader (killed then).
  std::uint64_t escaped_processes = 0;
  // --end-at-answer: the driver killed the run once a complete report showed its incident.
  bool ended_at_answer = false;
};

struct RecordedOutput {
  std::uint64_t stdout_bytes = 0;
  std::uint64_t stderr_bytes = 0;
  std::uint64_t stdout_dropped_bytes = 0;
  std::uint64_t stderr_dropped_bytes = 0;
  std::string stdout_tail = {};  // the last 4 KiB
  std::string stderr_tail = {};
};

// Whether the run completed; when not, why (a timeout, a kill, no `done`, ...).
struct Completion {
  bool ok = true;
  std::string reason = {};
};

// The sweep a run belongs to (docs/scale-out.md), written by `faultline sweep` into each of its
// records so that `faultline merge` can tell the shards of one campaign from another's and find
// what is missing.
struct RecordedCampaign {
  std::string id;  // 16 hex digits: a hash of the base seed and the sweep's definition
  std::uint64_t base_seed = 0;
  std::string seed_from;  // where the base seed came from: "--seed", "--campaign NAME", ...
  // The sweep's definition as `faultline sweep` words (scenario, builds, grid, fixed
  // parameters, faults, limits), in one canonical order: merge plans the runs again from them.
  std::vector<std::string> sweep;
  std::uint64_t shard_index = 0, shard_count = 1;
  std::uint64_t planned_runs = 0;  // in the whole sweep, every shard
};

struct Record {
  int schema_version = kRecordSchemaVersion;
  std::string run_id;
  std::string key;  // run_key: the experiment key's id and the repeat index
  std::string scenario;
  std::string variant;
  std::string sanitizer;  // none, tsan, asan
  std::map<std::string, std::string> params;
  std::uint64_t seed = 0;
  std::uint64_t repeat_index = 0;
  std::vector<std::string> command;
  std::string cwd;  // the command's working directory (exec); "" for the driver's
  // exec's oracles (--fail-exit, --fail-output), so a replay judges the same way.
  std::vector<int> fail_exit;
  std::vector<std::string> fail_output;
  std::map<std::string, std::string> env;
  std::string replay;
  // Provenance, kept as written (build_info.json and the host's facts): open-ended objects.
  nlohmann::json build = nlohmann::json::object();
  nlohmann::json host = nlohmann::json::object();
  std::vector<RecordedFault> faults;
  std::string perturb;  // "" = none (null in JSON)
  std::vector<std::string> nemesis;
  // --fault-plan, whole (harness/plan/fault_plan.h); null when none. Its phases, compiled, are
  // among `faults` and `nemesis` too: they are what the run was given.
  nlohmann::json fault_plan;
  RecordedLimits limits;
  std::optional<RecordedCampaign> campaign;  // runs of a sweep only
  std::string started_at;                    // ISO 8601, UTC
  double duration_s = 0;
  // Seconds from the child's exec until its first symptom reached the driver
  // (docs/record-schema.md).
  std::optional<double> first_symptom_s;
  RecordedExit exit;
  RecordedOutput output;
  std::vector<Symptom> symptoms;
  std::vector<Observation> observations;
  std::map<std::string, Metric> metrics;
  std::map<std::string, std::vector<std::pair<double, double>>> samples;  // series -> (t, value)
  std::map<std::string, RecordedHistogram> histograms;  // by name: "latency_us", ...
  std::vector<std::string> notes;
  std::vector<TimelineEvent> timeline;
  bool report_done = false;            // the scenario wrote `done` on its report channel
  std::uint64_t report_bad_lines = 0;  // lines of the channel that were not events
  // Schema 1 records have none: read as expect_nothing, so they are shown but not judged.
  Expectation expectation;
  Completion completion;
  std::string
      verdict;  // an outcome_name (harness/judge/judge.h); schema 1: failed, passed, unknown
  std::string verdict_reason;

  // The kinds of its symptoms, each once, in the order first seen.
  std::vector<std::string> symptom_kinds() const;
  // build["preset"] / ["build_dir"] / ["git_revision"], or "" when absent.
  std::string build_field(const char* name) const;
};

// A record that cannot be read: names the field and what is wrong ("field 'seed': expected a
// whole number >= 0, found string").
class RecordError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

nlohmann::json record_to_json(const Record& record);
// Reads schema 1 and 2. Throws RecordError for a record of another schema version, a missing
// required field or a field of the wrong type.
Record record_from_json(const nlohmann::json& json);

}  // namespace faultline
