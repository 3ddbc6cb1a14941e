#include "harness/record/record.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "harness/judge/judge.h"
#include "harness/probe/shown.h"

namespace faultline {
namespace {

using nlohmann::json;

// One JSON object of a record being read, with its path for messages ("exit", "symptoms[2]").
class Fields {
 public:
  Fields(const json& object, std::string path) : object_(object), path_(std::move(path)) {
    if (!object_.is_object()) fail("", "an object", object_);
  }

  // The field, or nullptr when absent (a required one throws).
  const json* find(const char* name, bool required) const {
    auto it = object_.find(name);
    if (it != object_.end()) return &*it;
    if (required) throw RecordError(fmt::format("missing field '{}'", where(name)));
    return nullptr;
  }

  std::string text(const char* name, bool required = false) const {
    const json* v = find(name, required);
    if (v == nullptr) return "";
    if (!v->is_string()) fail(name, "a string", *v);
    return v->get<std::string>();
  }
  // A string, or null for "".
  std::string text_or_null(const char* name) const {
    const json* v = find(name, false);
    return v == nullptr || v->is_null() ? std::string() : text(name);
  }
  std::uint64_t whole(const char* name, bool required = false) const {
    const json* v = find(name, required);
    if (v == nullptr) return 0;
    if (!v->is_number_unsigned() && (!v->is_number_integer() || v->get<long long>() < 0)) {
      fail(name, "a whole number >= 0", *v);
    }
    return v->get<std::uint64_t>();
  }
  std::optional<std::uint64_t> optional_whole(const char* name) const {
    if (find(name, false) == nullptr) return std::nullopt;
    return whole(name);
  }
  double number(const char* name, bool required = false, double fallback = 0) const {
    const json* v = find(name, required);
    if (v == nullptr) return fallback;
    if (!v->is_number()) fail(name, "a number", *v);
    return v->get<double>();
  }
  bool boolean(const char* name, bool fallback) const {
    const json* v = find(name, false);
    if (v == nullptr) return fallback;
    if (!v->is_boolean()) fail(name, "true or false", *v);
    return v->get<bool>();
  }
  // An array (empty when absent).
  const json& array(const char* name, bool required = false) const {
    static const json kEmpty = json::array();
    const json* v = find(name, required);
    if (v == nullptr) return kEmpty;
    if (!v->is_array()) fail(name, "an array", *v);
    return *v;
  }
  const json& object(const char* name, bool required = false) const {
    static const json kEmpty = json::object();
    const json* v = find(name, required);
    if (v == nullptr) return kEmpty;
    if (!v->is_object()) fail(name, "an object", *v);
    return *v;
  }
  std::vector<std::string> texts(const char* name) const {
    std::vector<std::string> out;
    for (const auto& v : array(name)) {
      if (!v.is_string()) fail(name, "an array of strings", v);
      out.push_back(v.get<std::string>());
    }
    return out;
  }
  // An object of scalars, each as text (numbers and booleans as JSON writes them).
  std::map<std::string, std::string> text_map(const char* name, bool required = false) const {
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : object(name, required).items()) {
      if (v.is_string()) {
        out[k] = v.get<std::string>();
      } else if (v.is_number() || v.is_boolean()) {
        out[k] = v.dump();
      } else {
        fail(name, "an object of strings", v);
      }
    }
    return out;
  }

  // The field's path, as a message shows it: the names in it come from the file.
  std::string where(const char* name) const {
    if (*name == '\0') return shown(path_);
    return shown(path_.empty() ? std::string(name) : path_ + "." + name);
  }
  [[noreturn]] void fail(const char* name, const char* expected, const json& found) const {
    throw RecordError(
        fmt::format("field '{}': expected {}, found {}", where(name), expected, found.type_name()));
  }

 private:
  const json& object_;
  std::string path_;
};

std::string indexed(const char* name, std::size_t i) {
  return fmt::format("{}[{}]", name, i);
}

Symptom symptom_from(const json& j, const std::string& path) {
  const Fields f(j, path);
  Symptom s;
  s.kind = f.text("kind", true);
  s.subkind = f.text("subkind");
  s.source = f.text("source");
  s.summary = f.text("summary");
  s.report = f.text("report");
  s.truncated = f.boolean("truncated", false);
  s.count = f.find("count", false) ? f.whole("count") : 1;
  const json& frames = f.array("frames");
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const Fields fr(frames[i], path + "." + indexed("frames", i));
    s.frames.push_back({fr.text("function"), fr.text("location")});
  }
  return s;
}

json symptom_to(const Symptom& s) {
  json frames = json::array();
  for (const auto& fr : s.frames) {
    frames.push_back({{"function", fr.function}, {"location", fr.location}});
  }
  return {{"kind", s.kind},           {"subkind", s.subkind}, {"source", s.source},
          {"truncated", s.truncated}, {"count", s.count},     {"summary", s.summary},
          {"frames", frames},         {"report", s.report}};
}

RecordedLimits limits_from(const Fields& r) {
  RecordedLimits l;
  if (r.find("limits", false) == nullptr) return l;
  const Fields f(r.object("limits"), "limits");
  l.timeout_s = f.number("timeout_s", false, l.timeout_s);
  l.open_files = f.optional_whole("open_files");
  l.address_space_bytes = f.optional_whole("address_space_bytes");
  l.processes = f.optional_whole("processes");
  l.threads = f.optional_whole("threads");
  l.threads_enforced_by = f.text("threads_enforced_by");
  return l;
}

json limits_to(const RecordedLimits& l) {
  json j = {{"timeout_s", l.timeout_s}};
  if (l.open_files) j["open_files"] = *l.open_files;
  if (l.address_space_bytes) j["address_space_bytes"] = *l.address_space_bytes;
  if (l.processes) j["processes"] = *l.processes;
  if (l.threads) {
    j["threads"] = *l.threads;
    j["threads_enforced_by"] = l.threads_enforced_by;
  }
  return j;
}

std::optional<RecordedCampaign> campaign_from(const Fields& r) {
  if (r.find("campaign", false) == nullptr) return std::nullopt;
  const Fields f(r.object("campaign"), "campaign");
  RecordedCampaign c;
  c.id = f.text("id", true);
  c.base_seed = f.whole("base_seed", true);
  c.seed_from = f.text("seed_from");
  c.sweep = f.texts("sweep");
  c.shard_index = f.whole("shard_index", true);
  c.shard_count = f.whole("shard_count", true);
  c.planned_runs = f.whole("planned_runs", true);
  if (c.shard_count == 0 || c.shard_index >= c.shard_count) {
    f.fail("shard_index", fmt::format("a shard below shard_count {}", c.shard_count).c_str(),
           *f.find("shard_index", true));
  }
  return c;
}

json campaign_to(const RecordedCampaign& c) {
  return {{"id", c.id},
          {"base_seed", c.base_seed},
          {"seed_from", c.seed_from},
          {"sweep", c.sweep},
          {"shard_index", c.shard_index},
          {"shard_count", c.shard_count},
          {"planned_runs", c.planned_runs}};
}

RecordedExit exit_from(const Fields& r) {
  const Fields f(r.object("exit", true), "exit");
  RecordedExit e;
  e.started = f.boolean("started", true);
  if (const json* code = f.find("code", false); code != nullptr && !code->is_null()) {
    if (!code->is_number_integer()) f.fail("code", "a whole number or null", *code);
    e.code = code->get<int>();
  }
  if (std::string signal = f.text_or_null("signal"); !signal.empty()) e.signal = signal;
  e.core_dumped = f.boolean("core_dumped", false);
  e.timed_out = f.boolean("timed_out", false);
  e.escalated_to_kill = f.boolean("escalated_to_kill", false);
  e.max_rss_bytes = f.whole("max_rss_bytes");
  e.start_error = f.text("start_error");
  e.contained_by = f.text("contained_by");
  e.escaped_processes = f.whole("escaped_processes");
  e.ended_at_answer = f.boolean("ended_at_answer", false);
  return e;
}

json exit_to(const RecordedExit& e) {
  json j = {{"started", e.started},
            {"code", e.code ? json(*e.code) : json()},
            {"signal", e.signal ? json(*e.signal) : json()},
            {"core_dumped", e.core_dumped},
            {"timed_out", e.timed_out},
            {"escalated_to_kill", e.escalated_to_kill},
            {"max_rss_bytes", e.max_rss_bytes}};
  if (!e.started) j["start_error"] = e.start_error;
  if (!e.contained_by.empty()) j["contained_by"] = e.contained_by;
  if (e.escaped_processes > 0) j["escaped_processes"] = e.escaped_processes;
  if (e.ended_at_answer) j["ended_at_answer"] = true;
  return j;
}

RecordedOutput output_from(const Fields& r) {
  RecordedOutput o;
  if (r.find("output", false) == nullptr) return o;
  const Fields f(r.object("output"), "output");
  o.stdout_bytes = f.whole("stdout_bytes");
  o.stderr_bytes = f.whole("stderr_bytes");
  o.stdout_dropped_bytes = f.whole("stdout_dropped_bytes");
  o.stderr_dropped_bytes = f.whole("stderr_dropped_bytes");
  o.stdout_tail = f.text("stdout_tail");
  o.stderr_tail = f.text("stderr_tail");
  return o;
}

json output_to(const RecordedOutput& o) {
  return {{"stdout_bytes", o.stdout_bytes},
          {"stderr_bytes", o.stderr_bytes},
          {"stdout_dropped_bytes", o.stdout_dropped_bytes},
          {"stderr_dropped_bytes", o.stderr_dropped_bytes},
          {"stdout_tail", o.stdout_tail},
          {"stderr_tail", o.stderr_tail}};
}

// A metric is {"value": n, "unit": "ms"}; a bare number is read as a value without a unit.
std::map<std::string, Metric> metrics_from(const Fields& r) {
  std::map<std::string, Metric> out;
  for (const auto& [name, entry] : r.object("metrics", true).items()) {
    const std::string path = "metrics." + name;
    if (entry.is_number()) {
      out[name] = {entry.get<double>(), ""};
      continue;
    }
    const Fields f(entry, path);
    out[name] = {f.number("value", true), f.text("unit")};
  }
  return out;
}

json metrics_to(const std::map<std::string, Metric>& metrics) {
  json j = json::object();
  for (const auto& [name, m] : metrics) {
    // A whole number is written as one (a count reads as 42, not 42.0), up to 2^53.
    const bool whole = std::trunc(m.value) == m.value && std::fabs(m.value) < 9007199254740992.0;
    json entry = {{"value", whole ? json(static_cast<std::int64_t>(m.value)) : json(m.value)}};
    if (!m.unit.empty()) entry["unit"] = m.unit;
    j[name] = entry;
  }
  return j;
}

std::vector<Observation> observations_from(const Fields& r) {
  std::vector<Observation> out;
  const json& list = r.array("observations");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const Fields f(list[i], indexed("observations", i));
    out.push_back({f.text("kind", true), f.whole("count", true), f.text("detail")});
  }
  return out;
}

json observations_to(const std::vector<Observation>& list) {
  json j = json::array();
  for (const auto& o : list) {
    json entry = {{"kind", o.kind}, {"count", o.count}};
    if (!o.detail.empty()) entry["detail"] = o.detail;
    j.push_back(entry);
  }
  return j;
}

std::map<std::string, std::vector<std::pair<double, double>>> samples_from(const Fields& r) {
  std::map<std::string, std::vector<std::pair<double, double>>> out;
  for (const auto& [series, points] : r.object("samples").items()) {
    auto& into = out[series];
    if (!points.is_array()) r.fail("samples", "an object of arrays of [t, value]", points);
    for (const auto& p : points) {
      if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number()) {
        r.fail("samples", "an object of arrays of [t, value]", p);
      }
      into.emplace_back(p[0].get<double>(), p[1].get<double>());
    }
  }
  return out;
}

json samples_to(const std::map<std::string, std::vector<std::pair<double, double>>>& samples) {
  json j = json::object();
  for (const auto& [series, points] : samples) {
    json list = json::array();
    for (const auto& [t, v] : points) list.push_back({t, v});
    j[series] = list;
  }
  return j;
}

// {"name": {"unit": "us", "divisor": 1000, "h": "h1:..."}}: LatencyHistogram::encode().
std::map<std::string, RecordedHistogram> histograms_from(const Fields& r) {
  std::map<std::string, RecordedHistogram> out;
  if (r.find("histograms", false) == nullptr) return out;
  for (const auto& [name, entry] : r.object("histograms").items()) {
    const Fields f(entry, "histograms." + name);
    RecordedHistogram h;
    h.unit = f.text("unit");
    h.divisor = f.number("divisor", false, 1);
    if (!(h.divisor > 0)) f.fail("divisor", "a number above 0", entry.at("divisor"));
    const std::string text = f.text("h", true);
    try {
      h.histogram = LatencyHistogram::decode(text);
    } catch (const HistogramDecodeError& e) {
      throw RecordError(fmt::format("field 'histograms.{}.h': not a faultline histogram: {}",
                                    shown(name), e.what()));
    }
    out[name] = std::move(h);
  }
  return out;
}

json histograms_to(const std::map<std::string, RecordedHistogram>& histograms) {
  json j = json::object();
  for (const auto& [name, h] : histograms) {
    j[name] = {{"unit", h.unit}, {"divisor", h.divisor}, {"h", h.histogram.encode()}};
  }
  return j;
}

std::vector<TimelineEvent> timeline_from(const Fields& r) {
  std::vector<TimelineEvent> out;
  const json& list = r.array("timeline");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const Fields f(list[i], indexed("timeline", i));
    out.push_back({f.number("t", true), f.text("what", true), f.text("detail")});
  }
  return out;
}

json timeline_to(const std::vector<TimelineEvent>& list) {
  json j = json::array();
  for (const auto& e : list) {
    json entry = {{"t", e.t}, {"what", e.what}};
    if (!e.detail.empty()) entry["detail"] = e.detail;
    j.push_back(entry);
  }
  return j;
}

std::vector<RecordedFault> faults_from(const Fields& r) {
  std::vector<RecordedFault> out;
  const json& list = r.array("faults");
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (list[i].is_string()) {  // an early form: the spec text alone
      out.push_back({list[i].get<std::string>()});
      continue;
    }
    const Fields f(list[i], indexed("faults", i));
    out.push_back({f.text("spec", true), f.text("kind"), f.text_map("params")});
  }
  return out;
}

json faults_to(const std::vector<RecordedFault>& faults) {
  json j = json::array();
  for (const auto& f : faults) {
    j.push_back({{"spec", f.spec}, {"kind", f.kind}, {"params", f.params}});
  }
  return j;
}

int schema_version_of(const Fields& r) {
  const json* v = r.find("schema_version", true);
  if (!v->is_number_integer()) r.fail("schema_version", "a whole number", *v);
  const auto version = v->get<long long>();
  if (version > kRecordSchemaVersion) {
    throw RecordError(fmt::format(
        "schema version {} is newer than this faultline reads ({} at most): use the faultline "
        "that wrote it, or a newer one",
        version, kRecordSchemaVersion));
  }
  if (version < kOldestRecordSchemaVersion) {
    throw RecordError(fmt::format("schema version {} is not one this faultline reads ({} to {})",
                                  version, kOldestRecordSchemaVersion, kRecordSchemaVersion));
  }
  return static_cast<int>(version);
}

// The judge's part of a record: its expectation, completion and verdict, by schema version.
void read_judgement(const Fields& f, Record& r) {
  r.verdict = f.text("verdict", true);
  r.verdict_reason = f.text("verdict_reason", true);
  if (r.schema_version == 1) {
    if (r.verdict != "failed" && r.verdict != "passed" && r.verdict != "unknown") {
      throw RecordError(
          fmt::format("verdict '{}' is not failed, passed or unknown (schema 1)", r.verdict));
    }
    r.expectation =
        expect_nothing(r.variant, r.sanitizer, "the record states no expectation (schema 1)");
    r.expectation.source = "none";
    r.completion = r.verdict == "unknown" ? Completion{false, r.verdict_reason} : Completion{};
    return;
  }
  if (!parse_outcome(r.verdict)) {
    throw RecordError(fmt::format(
        "verdict '{}' is not one of reproduced, not_reproduced, fix_failed, clean, unexpected, "
        "observed, unknown",
        r.verdict));
  }
  try {
    r.expectation = expectation_from_json(f.object("expectation", true));
  } catch (const std::invalid_argument& e) {
    throw RecordError(fmt::format("field 'expectation': {}", e.what()));
  }
  const Fields c(f.object("completion", true), "completion");
  if (c.find("ok", true) != nullptr) r.completion.ok = c.boolean("ok", true);
  r.completion.reason = c.text("reason");
}

void read_identity(const Fields& f, Record& r) {
  r.run_id = f.text("run_id", true);
  r.key = f.text("key", true);
  r.scenario = f.text("scenario", true);
  r.variant = f.text("variant", true);
  r.sanitizer = f.text("sanitizer", true);
  r.params = f.text_map("params", true);
  r.seed = f.whole("seed", true);
  r.repeat_index = f.whole("repeat_index", true);
  r.command = f.texts("command");
  r.cwd = f.text("cwd");
  r.fail_output = f.texts("fail_output");
  for (const auto& c : f.array("fail_exit")) {
    if (!c.is_number_integer()) f.fail("fail_exit", "a list of exit codes", c);
    r.fail_exit.push_back(c.get<int>());
  }
  r.env = f.text_map("env");
  r.replay = f.text("replay", true);
  r.build = f.object("build");
  r.host = f.object("host");
  r.faults = faults_from(f);
  r.perturb = f.text_or_null("perturb");
  r.nemesis = f.texts("nemesis");
  if (const json& plan = f.object("fault_plan"); !plan.empty()) r.fault_plan = plan;
  r.limits = limits_from(f);
  r.campaign = campaign_from(f);
}

void read_run(const Fields& f, Record& r) {
  r.started_at = f.text("started_at", true);
  r.duration_s = f.number("duration_s", true);
  r.exit = exit_from(f);
  r.output = output_from(f);
  const json& symptoms = f.array("symptoms", true);
  for (std::size_t i = 0; i < symptoms.size(); ++i) {
    r.symptoms.push_back(symptom_from(symptoms[i], indexed("symptoms", i)));
  }
  r.observations = observations_from(f);
  r.metrics = metrics_from(f);
  r.samples = samples_from(f);
  r.histograms = histograms_from(f);
  if (f.find("first_symptom_s", false) != nullptr) {
    r.first_symptom_s = f.number("first_symptom_s");
    if (!(*r.first_symptom_s >= 0)) {
      f.fail("first_symptom_s", "a number of seconds >= 0", *f.find("first_symptom_s", false));
    }
  }
  r.notes = f.texts("notes");
  r.timeline = timeline_from(f);
  if (f.find("report_channel", false) != nullptr) {
    const Fields c(f.object("report_channel"), "report_channel");
    r.report_done = c.boolean("done", false);
    r.report_bad_lines = c.whole("bad_lines");
  }
}

}  // namespace

std::map<std::string, std::string> RecordedLimits::key_fields() const {
  std::map<std::string, std::string> out;
  if (open_files) out["open_files"] = std::to_string(*open_files);
  if (address_space_bytes) out["address_space_bytes"] = std::to_string(*address_space_bytes);
  if (processes) out["processes"] = std::to_string(*processes);
  if (threads) out["threads"] = std::to_string(*threads);
  return out;
}

std::vector<std::string> Record::symptom_kinds() const {
  std::vector<std::string> kinds;
  for (const auto& s : symptoms) {
    if (std::find(kinds.begin(), kinds.end(), s.kind) == kinds.end()) kinds.push_back(s.kind);
  }
  return kinds;
}

std::string Record::build_field(const char* name) const {
  auto it = build.find(name);
  return it != build.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Record record_from_json(const json& j) {
  if (!j.is_object()) {
    throw RecordError(fmt::format("a record is a JSON object, found {}", j.type_name()));
  }
  const Fields f(j, "");
  Record r;
  r.schema_version = schema_version_of(f);
  read_identity(f, r);
  read_run(f, r);
  read_judgement(f, r);
  return r;
}

json record_to_json(const Record& r) {
  json j;
  j["schema_version"] = r.schema_version;
  j["run_id"] = r.run_id;
  j["key"] = r.key;
  j["scenario"] = r.scenario;
  j["variant"] = r.variant;
  j["sanitizer"] = r.sanitizer;
  j["params"] = r.params;
  j["seed"] = r.seed;
  j["repeat_index"] = r.repeat_index;
  j["command"] = r.command;
  if (!r.cwd.empty()) j["cwd"] = r.cwd;
  if (!r.fail_exit.empty()) j["fail_exit"] = r.fail_exit;
  if (!r.fail_output.empty()) j["fail_output"] = r.fail_output;
  j["env"] = r.env;
  j["replay"] = r.replay;
  j["build"] = r.build;
  j["host"] = r.host;
  j["faults"] = faults_to(r.faults);
  j["perturb"] = r.perturb.empty() ? json() : json(r.perturb);
  j["nemesis"] = r.nemesis;
  if (!r.fault_plan.is_null()) j["fault_plan"] = r.fault_plan;
  j["limits"] = limits_to(r.limits);
  if (r.campaign) j["campaign"] = campaign_to(*r.campaign);
  j["started_at"] = r.started_at;
  j["duration_s"] = r.duration_s;
  j["exit"] = exit_to(r.exit);
  j["output"] = output_to(r.output);
  json symptoms = json::array();
  for (const auto& s : r.symptoms) symptoms.push_back(symptom_to(s));
  j["symptoms"] = symptoms;
  j["observations"] = observations_to(r.observations);
  j["metrics"] = metrics_to(r.metrics);
  j["samples"] = samples_to(r.samples);
  if (!r.histograms.empty()) j["histograms"] = histograms_to(r.histograms);
  if (r.first_symptom_s) j["first_symptom_s"] = *r.first_symptom_s;
  j["notes"] = r.notes;
  j["timeline"] = timeline_to(r.timeline);
  j["report_channel"] = {{"done", r.report_done}, {"bad_lines", r.report_bad_lines}};
  j["expectation"] = expectation_to_json(r.expectation);
  j["completion"] = {{"ok", r.completion.ok}, {"reason", r.completion.reason}};
  j["verdict"] = r.verdict;
  j["verdict_reason"] = r.verdict_reason;
  return j;
}

}  // namespace faultline
