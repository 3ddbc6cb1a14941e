#include "harness/run/executor.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <regex>

#include "harness/fault/child_faults.h"
#include "harness/judge/answer.h"
#include "harness/judge/judge.h"
#include "harness/record/experiment_key.h"
#include "harness/record/results_file.h"
#include "harness/run/symbolizer_tool.h"
#include "harness/scenario/fault_spec.h"
#include "harness/scenario/report_events.h"

namespace faultline {
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxSymptomGroups = 32;
constexpr std::size_t kMaxReportChars = 16 * 1024;
constexpr std::size_t kMaxSamplesPerSeries = 2000;

std::string iso_utc(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

std::string new_run_id(std::chrono::system_clock::time_point t) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string stamp = iso_utc(t);
  std::string compact;
  for (char c : stamp.substr(0, 19)) {
    if (c != '-' && c != ':') compact += c;
  }
  return fmt::format("{}Z-{:08x}", compact, static_cast<std::uint32_t>(rng()));
}

std::string top_function(const Symptom& s) {
  return s.frames.empty() ? std::string() : s.frames.front().function;
}

}  // namespace

namespace {

// What one run's report channel may put in its record; beyond these an event is cut or dropped,
// and the record says how many (a scenario that writes a 100 MB note or a million metric names
// must not make a 100 MB record or exhaust the driver's memory).
constexpr std::size_t kMaxEventLineBytes = 1 << 20;
constexpr std::size_t kMaxTextBytes = 4096;
constexpr std::size_t kMaxMetrics = 1000;
constexpr std::size_t kMaxNotes = 200;
constexpr std::size_t kMaxObservations = 1000;
constexpr std::size_t kMaxSeries = 100;
constexpr std::size_t kMaxHistograms = 50;

std::string capped(std::string text) {
  if (text.size() <= kMaxTextBytes) return text;
  const std::size_t more = text.size() - kMaxTextBytes;
  text.resize(kMaxTextBytes);
  return text + fmt::format(" [cut: {} bytes more]", more);
}

// Calls `take` with each line of the file, reading in chunks: a line longer than
// kMaxEventLineBytes is skipped unread (counted in `oversized`), so memory stays bounded.
void for_each_event_line(const std::string& path, std::size_t& oversized,
                         const std::function<void(std::string_view)>& take) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  bool skipping = false;
  std::vector<char> chunk(64 * 1024);
  while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || in.gcount() > 0) {
    std::string_view data(chunk.data(), static_cast<std::size_t>(in.gcount()));
    while (!data.empty()) {
      const std::size_t nl = data.find('\n');
      const std::string_view piece = data.substr(0, nl);
      if (!skipping) line.append(piece);
      if (!skipping && line.size() > kMaxEventLineBytes) {
        skipping = true;
        line.clear();
        ++oversized;
      }
      if (nl == std::string_view::npos) break;
      if (!skipping && !line.empty()) take(line);
      line.clear();
      skipping = false;
      data.remove_prefix(nl + 1);
    }
  }
  if (!skipping && !line.empty()) take(line);
}

// One event into the report; false when it is not a valid event.
bool take_event(ScenarioReport& report, const nlohmann::json& e, std::size_t& dropped) {
  const std::string type = e.at(std::string(report_event::kType)).get<std::string>();
  auto drop = [&] {  // a valid event the record has no room for
    ++dropped;
    return true;
  };
  if (type == report_event::kMetric) {
    const std::string name = e.at("name").get<std::string>();
    if (report.metrics.size() >= kMaxMetrics && !report.metrics.contains(name)) return drop();
    report.metrics[capped(name)] = {e.at("value").get<double>(), capped(e.value("unit", ""))};
  } else if (type == report_event::kObservation) {
    if (report.observations.size() >= kMaxObservations) return drop();
    report.observations.push_back({capped(e.at("kind").get<std::string>()),
                                   e.at("count").get<std::uint64_t>(),
                                   capped(e.value("detail", ""))});
    if (e.contains("first_seen_ns")) {
      const auto ns = e.at("first_seen_ns").get<std::int64_t>();
      auto [it, fresh] = report.first_seen_ns.emplace(report.observations.back().kind, ns);
      if (!fresh) it->second = std::min(it->second, ns);
    }
  } else if (type == report_event::kSample) {
    std::string name = capped(e.at("series").get<std::string>());
    if (report.samples.size() >= kMaxSeries && !report.samples.contains(name)) return drop();
    auto& series = report.samples[std::move(name)];
    if (series.size() >= kMaxSamplesPerSeries) return drop();
    series.emplace_back(e.at("t").get<double>(), e.at("value").get<double>());
  } else if (type == report_event::kNote) {
    if (report.notes.size() >= kMaxNotes) return drop();
    report.notes.push_back(capped(e.at("text").get<std::string>()));
  } else if (type == report_event::kTimeline) {
    if (report.timeline.size() >= kMaxSamplesPerSeries) return drop();
    report.timeline.push_back({e.at("t").get<double>(), capped(e.at("what").get<std::string>()),
                               capped(e.value("detail", ""))});
  } else if (type == report_event::kHistogram) {
    std::string name = capped(e.at("name").get<std::string>());
    if (report.histograms.size() >= kMaxHistograms && !report.histograms.contains(name)) {
      return drop();
    }
    RecordedHistogram h;
    h.unit = capped(e.value("unit", ""));
    h.divisor = e.value("divisor", 1.0);
    if (!(h.divisor > 0) || !std::isfinite(h.divisor)) return false;
    try {
      h.histogram = LatencyHistogram::decode(e.at("h").get<std::string>());
    } catch (const HistogramDecodeError&) {
      return false;  // a bad line, counted as one
    }
    report.histograms[std::move(name)] = std::move(h);
  } else if (type == report_event::kDone) {
    report.done = true;
  } else {
    return false;
  }
  return true;
}

}  // namespace

ScenarioReport read_scenario_report(const std::string& path) {
  ScenarioReport report;
  std::size_t oversized = 0;
  std::size_t dropped = 0;
  for_each_event_line(path, oversized, [&](std::string_view line) {
    const auto e = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    const auto type_field = std::string(report_event::kType);
    bool ok = e.is_object() && e.contains(type_field) && e[type_field].is_string();
    try {
      ok = ok && take_event(report, e, dropped);
    } catch (const nlohmann::json::exception&) {
      ok = false;
    }
    if (!ok) ++report.bad_lines;
  });
  report.bad_lines += oversized;
  if (oversized + dropped > 0) {
    report.notes.push_back(fmt::format(
        "report channel: {} event line(s) over {} bytes skipped, {} event(s) over the record's "
        "caps dropped ({} metrics, {} notes, {} observations, {} series, {} points a series, {} "
        "histograms)",
        oversized, kMaxEventLineBytes, dropped, kMaxMetrics, kMaxNotes, kMaxObservations,
        kMaxSeries, kMaxSamplesPerSeries, kMaxHistograms));
  }
  return report;
}

std::vector<Symptom> collect_symptoms(const RunResult& result, const ScenarioReport& report,
                                      std::vector<std::string>* suspicious,
                                      Symbolizer* symbolizer) {
  auto readable = [symbolizer](const std::string& text) {
    return symbolizer != nullptr ? symbolizer->symbolize(text) : text;
  };
  std::vector<Symptom> raw = parse_reports(readable(result.err.text));
  for (auto& s : parse_reports(readable(result.out.text))) raw.push_back(std::move(s));
  // Every runtime that prints such a report ends the process with a failing status (the
  // sanitizers with the exit codes sanitizer_env sets, Go with 2 or 66) or a signal. A process
  // that exited 0 printed text shaped like a report: it is kept as a note, not believed.
  if (result.exit_code == 0 && !result.signal && !raw.empty()) {
    for (const auto& s : raw) {
      if (suspicious) {
        suspicious->push_back(
            fmt::format("not believed: text shaped like a {} report ({}), but the process exited 0",
                        s.source, s.kind));
      }
    }
    raw.clear();
  }

  // A death by a signal the driver sent (timeout, cancel, the answer) is not the program's crash.
  if (result.signal && !result.timed_out && !result.cancelled && !result.ended_at_answer) {
    Symptom crash;
    crash.kind = "crash";
    crash.source = "signal";
    crash.summary = fmt::format("killed by {}{}", signal_name(*result.signal),
                                result.core_dumped ? " (core dumped)" : "");
    raw.push_back(std::move(crash));
  }
  for (const auto& o : report.observations) {
    if (o.count == 0) continue;
    Symptom s;
    s.kind = o.kind;
    s.source = "scenario";
    s.summary = !o.detail.empty() ? o.detail : fmt::format("{} observed {} times", o.kind, o.count);
    s.count = o.count;
    raw.push_back(std::move(s));
  }

  // Merge by (kind, subkind, source, top function): a race reported at one place 40 times is one
  // symptom with count 40, and the first report's text is kept.
  std::vector<Symptom> merged;
  for (auto& s : raw) {
    auto it = std::find_if(merged.begin(), merged.end(), [&](const Symptom& m) {
      return m.kind == s.kind && m.subkind == s.subkind && m.source == s.source &&
             top_function(m) == top_function(s);
    });
    if (it != merged.end()) {
      it->count += s.count;
    } else if (merged.size() < kMaxSymptomGroups) {
      if (s.report.size() > kMaxReportChars) {
        s.report = s.report.substr(0, kMaxReportChars) + "\n[faultline: report truncated]\n";
      }
      merged.push_back(std::move(s));
    }
  }
  return merged;
}

std::optional<std::string> run_broken(const RunResult& result, const std::vector<Symptom>& symptoms,
                                      const ScenarioReport& report, bool scenario_protocol) {
  if (!result.started) return "did not start: " + result.start_error;
  if (result.cancelled) return "stopped by the user before it finished";
  if (result.err.text.find("ThreadSanitizer: unexpected memory mapping") != std::string::npos) {
    return "TSan could not map its shadow memory (kernel vm.mmap_rnd_bits above 28): run the "
           "child without ASLR, e.g. setarch $(uname -m) -R";
  }
  if (result.timed_out) {
    return "timed out before it finished (raise --timeout if the run is slow)";
  }
  if (!symptoms.empty()) return std::nullopt;
  if (result.signal) return fmt::format("killed by {}", signal_name(*result.signal));
  if (result.exit_code && *result.exit_code != 0) {
    return fmt::format(
        "exited with code {} and no recognised report (see the record's stderr_tail)",
        *result.exit_code);
  }
  if (scenario_protocol && !report.done) {
    return "the scenario exited 0 without reporting that it completed (no done event)";
  }
  return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> sanitizer_env(Sanitizer sanitizer) {
  auto with_user = [](const char* var, std::string ours) {
    if (const char* user = std::getenv(var); user && *user) ours += std::string(" ") + user;
    return std::pair<std::string, std::string>{var, ours};
  };
  // The driver symbolizes the reports itself (symbolizer_tool.h): the runtime prints each frame as
  // its module's path and offset, and writes the report without first reading every module's
  // debug information. Without a symbolizer the runtime does it, as it would by default.
  const bool deferred = driver_symbolizer() != nullptr;
  const std::string symbolize = deferred ? " symbolize=0" : "";
  switch (sanitizer) {
    case Sanitizer::kTsan:
      // halt_on_error=0: report every race and keep going, so one run shows them all.
      // atexit_sleep_ms: the 1 s default adds a second to every run.
      // stack_trace_format: TSan's own, but with the module's whole path (%m), not its name.
      return {with_user("TSAN_OPTIONS",
                        "halt_on_error=0 exitcode=66 atexit_sleep_ms=50 second_deadlock_stack=1" +
                            symbolize +
                            (deferred ? " stack_trace_format='    #%n %f %S (%m+%o)'" : ""))};
    case Sanitizer::kAsan:
      return {with_user("ASAN_OPTIONS",
                        "detect_stack_use_after_return=1 detect_leaks=1 abort_on_error=0 "
                        "print_summary=1" +
                            symbolize),
              with_user("UBSAN_OPTIONS", "print_stacktrace=1 halt_on_error=1" + symbolize)};
    case Sanitizer::kNone:
      break;
  }
  return {};
}

nlohmann::json host_info() {
  nlohmann::json host;
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  host["hostname"] = name;
  host["cores"] = ::sysconf(_SC_NPROCESSORS_ONLN);
  struct utsname u {};
  if (::uname(&u) == 0) {
    host["kernel"] = std::string(u.sysname) + " " + u.release;
    host["arch"] = u.machine;
  }
  struct sysinfo si {};
  if (::sysinfo(&si) == 0)
    host["memory_bytes"] = static_cast<std::uint64_t>(si.totalram) * si.mem_unit;
  return host;
}

namespace {

std::vector<RecordedFault> recorded_faults(const std::vector<std::string>& texts) {
  std::vector<RecordedFault> out;
  for (const auto& text : texts) {
    try {
      const FaultSpec spec = parse_fault_spec(text);
      out.push_back({spec.text, spec.kind, {spec.params.begin(), spec.params.end()}});
    } catch (const std::invalid_argument&) {
      out.push_back({text});  // checked before the run; kept as given regardless
    }
  }
  return out;
}

RecordedLimits recorded_limits(const RunSettings& settings, const RunResult& result) {
  RecordedLimits l;
  l.timeout_s = static_cast<double>(settings.timeout.count()) / 1000.0;
  l.open_files = settings.limits.open_files;
  l.address_space_bytes = settings.limits.address_space_bytes;
  l.processes = settings.limits.processes;
  l.threads = settings.limits.threads;
  if (l.threads) l.threads_enforced_by = result.threads_enforced_by;
  return l;
}

RecordedExit recorded_exit(const RunResult& result) {
  RecordedExit e;
  e.started = result.started;
  e.code = result.exit_code;
  if (result.signal) e.signal = std::string(signal_name(*result.signal));
  e.core_dumped = result.core_dumped;
  e.timed_out = result.timed_out;
  e.escalated_to_kill = result.escalated_to_kill;
  e.max_rss_bytes = result.max_rss_bytes;
  if (!result.started) e.start_error = result.start_error;
  e.contained_by = result.contained_by;
  e.escaped_processes = result.escaped_processes;
  e.ended_at_answer = result.ended_at_answer;
  return e;
}

RecordedOutput recorded_output(const RunResult& result, Symbolizer* symbolizer) {
  auto tail = [symbolizer](const std::string& whole) {
    constexpr std::size_t kTail = 4096;
    std::string text = whole.size() <= kTail ? whole : whole.substr(whole.size() - kTail);
    // Its frames as the runtime would have printed them (their addresses are known by now).
    return symbolizer != nullptr ? symbolizer->symbolize(text) : text;
  };
  return {result.out.total_bytes,   result.err.total_bytes, result.out.dropped_bytes,
          result.err.dropped_bytes, tail(result.out.text),  tail(result.err.text)};
}

// The environment that applies the run's syscall and clock faults (child_faults.h), with the
// shim's counts file made, zeroed, beside the report file; nothing when the run has none.
fault::ChildFaultSetup child_faults(const RunPlan& plan, const fs::path& counts_path) {
  const char* preload = std::getenv("LD_PRELOAD");
  const bool by_seccomp = !plan.argv.empty() && fault::is_seccomp_launcher(plan.argv.front());
  fault::ChildFaultSetup setup = fault::child_fault_setup(
      plan.injection.faults, counts_path.string(), preload ? preload : "", by_seccomp);
  if (!setup.syscall_calls.empty()) {
    std::ofstream(counts_path, std::ios::binary | std::ios::trunc)
        << std::string(fault::kSyscallCountsBytes, '\0');
  }
  if (!setup.env.empty()) {
    // A preloaded library comes before an ASan runtime, which ASan refuses unless told.
    const char* asan = std::getenv("ASAN_OPTIONS");
    setup.env.emplace_back("ASAN_OPTIONS",
                           std::string(asan ? asan : "") + " verify_asan_link_order=0");
  }
  return setup;
}

// The child's request: its command, limits and environment, with the private report file.
RunRequest run_request(const RunPlan& plan, const RunSettings& settings,
                       const std::atomic<bool>* cancel, const std::string& run_id,
                       const fs::path& report_path, const fault::ChildFaultSetup& faults) {
  RunRequest request;
  request.argv = plan.argv;
  request.timeout = settings.timeout;
  request.output_cap_bytes = settings.output_cap_bytes;
  request.limits = settings.limits;
  request.cancel = cancel;
  request.env = sanitizer_env(plan.sanitizer);
  for (const auto& kv : settings.env) request.env.push_back(kv);
  request.env.emplace_back("FAULTLINE_REPORT", report_path.string());
  request.env.emplace_back("FAULTLINE_RUN_ID", run_id);
  request.env.emplace_back("FAULTLINE_SEED", std::to_string(plan.seed));
  for (const auto& var : faults.env) {
    // ASAN_OPTIONS: the sanitizer's, if this build set them, with the link-order switch added.
    auto it = std::find_if(request.env.begin(), request.env.end(),
                           [&](const auto& kv) { return kv.first == var.first; });
    if (it != request.env.end() && var.first == "ASAN_OPTIONS") {
      it->second += " verify_asan_link_order=0";
    } else {
      request.env.push_back(var);
    }
  }
  request.cwd = plan.cwd;
  if (settings.end_at_answer && AnswerWatch::applies(plan.expectation)) {
    auto watch = std::make_shared<AnswerWatch>(plan.expectation, driver_symbolizer());
    request.answer = [watch](std::string_view chunk) { return watch->feed(chunk); };
  }
  return request;
}

// The record's identity: what was run, with what, where.
void describe_run(Record& record, const RunPlan& plan, const RunSettings& settings,
                  const RunRequest& request) {
  record.key = run_key(plan, settings.limits);
  record.scenario = plan.scenario;
  record.variant = plan.variant;
  record.sanitizer = std::string(sanitizer_name(plan.sanitizer));
  record.params = plan.params;
  record.seed = plan.seed;
  record.repeat_index = plan.repeat_index;
  record.command = plan.argv;
  record.cwd = plan.cwd;
  record.fail_exit = plan.fail_exit;
  record.fail_output = plan.fail_output;
  for (const auto& [k, v] : request.env) {
    if (k != "FAULTLINE_REPORT" && k != "FAULTLINE_RUN_ID") record.env[k] = v;
  }
  record.replay = plan.replay;
  record.build = settings.build;
  record.host = settings.host;
  record.faults = recorded_faults(plan.injection.faults);
  record.perturb = plan.injection.perturb;
  record.nemesis = plan.injection.nemesis;
  record.fault_plan = plan.injection.fault_plan;
  record.expectation = plan.expectation;
  record.campaign = plan.campaign;
}

// What the scenario reported on its channel, moved into the record.
void take_report(Record& record, ScenarioReport&& report) {
  record.observations = std::move(report.observations);
  record.metrics = std::move(report.metrics);
  record.samples = std::move(report.samples);
  record.histograms = std::move(report.histograms);
  record.notes = std::move(report.notes);
  record.timeline = std::move(report.timeline);
  record.report_done = report.done;
  record.report_bad_lines = report.bad_lines;
}

// Where byte `at` of a captured text was in the stream the child wrote (the text drops the middle
// of a flood and puts a marker there).
std::optional<std::uint64_t> stream_offset(const CapturedStream& s, std::size_t at) {
  if (s.dropped_bytes == 0) return at;
  const std::string marker = fmt::format("\n[faultline: {} bytes dropped here]\n", s.dropped_bytes);
  const std::size_t head = s.text.find(marker);
  if (head == std::string::npos) return std::nullopt;
  if (at < head) return at;
  if (at < head + marker.size()) return std::nullopt;
  return at - marker.size() + s.dropped_bytes;
}

// exec's own oracles (RunPlan::fail_exit, fail_output) as symptoms of the run.
void add_exec_symptoms(const RunPlan& plan, const RunResult& result, std::vector<Symptom>& out) {
  if (result.exit_code && std::find(plan.fail_exit.begin(), plan.fail_exit.end(),
                                    *result.exit_code) != plan.fail_exit.end()) {
    Symptom s;
    s.kind = "exit_code";
    s.subkind = std::to_string(*result.exit_code);
    s.source = "exit";
    s.summary = fmt::format("exited {} (--fail-exit {})", *result.exit_code, *result.exit_code);
    out.push_back(std::move(s));
  }
  for (const auto& pattern : plan.fail_output) {
    const std::regex re(pattern, std::regex::ECMAScript);
    Symptom s;
    s.kind = "output_match";
    s.source = "output";
    s.count = 0;
    for (const CapturedStream* stream : {&result.err, &result.out}) {
      std::string_view rest = stream->text;
      while (!rest.empty()) {
        const std::size_t nl = rest.find('\n');
        const std::string line(rest.substr(0, nl));
        rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
        if (!std::regex_search(line, re)) continue;
        if (s.count++ == 0) {
          s.summary = fmt::format("{} (--fail-output {})", line.substr(0, 300), pattern);
          s.report = line.substr(0, 4096);
        }
      }
    }
    if (s.count > 0) out.push_back(std::move(s));
  }
}

// Seconds from the child's exec to its first symptom: when the first line of the earliest report
// reached the driver, when the driver saw a crash, or when the scenario saw an observation it
// timed (FirstSeen). Nothing when no symptom has a time (an observation the scenario did not
// time). A scenario's time outside the run (a faked monotonic clock, say) is not believed.
std::optional<double> first_symptom_seconds(const RunResult& result, const ScenarioReport& report,
                                            const std::vector<Symptom>& symptoms) {
  std::optional<std::chrono::nanoseconds> first;
  auto consider = [&](std::chrono::nanoseconds t) {
    if (!first || t < *first) first = t;
  };
  const auto exec_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
      (result.started_at + result.exec_at).time_since_epoch());
  for (const auto& s : symptoms) {
    if (s.source == "signal" || s.source == "exit") {
      consider(result.exit_seen_at);
      continue;
    }
    if (s.source == "scenario") {
      const auto it = report.first_seen_ns.find(s.kind);
      if (it == report.first_seen_ns.end()) continue;
      const auto t = std::chrono::nanoseconds(it->second) - exec_ns;
      if (t.count() >= 0 && t <= result.duration) consider(t);
      continue;
    }
    if (s.report.empty()) continue;
    // The report's first lines, up to its first frame: the driver may have symbolized the frames
    // since (symbolize.h), the lines before them are as the child wrote them.
    std::string_view head = std::string_view(s.report).substr(0, 200);
    for (std::size_t at = 0; at < head.size();) {
      const std::size_t nl = head.find('\n', at);
      const std::size_t hash = head.find_first_not_of(" \t", at);
      if (hash != std::string_view::npos && hash + 1 < head.size() && head[hash] == '#' &&
          std::isdigit(static_cast<unsigned char>(head[hash + 1])) && at > 0) {
        head = head.substr(0, at);
        break;
      }
      if (nl == std::string_view::npos) break;
      at = nl + 1;
    }
    for (const CapturedStream* stream : {&result.err, &result.out}) {
      const std::size_t at = stream->text.find(head);
      if (at == std::string::npos) continue;
      if (const auto offset = stream_offset(*stream, at)) {
        if (const auto t = stream->arrival_of(*offset)) consider(*t);
      }
      break;
    }
  }
  if (!first) return std::nullopt;
  return std::chrono::duration<double>(*first).count();
}

// The report files of drivers that are gone: a SIGKILLed driver cannot remove its own
// ("faultline-<driver pid>-<run id>.jsonl" and the syscall shim's ".counts" in the temp
// folder). Once per driver.
void remove_orphaned_report_files() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(fs::temp_directory_path(), ec)) {
      const std::string name = entry.path().filename().string();
      if ((name.ends_with(".jsonl") || name.ends_with(".counts")) && left_by_dead_driver(name)) {
        fs::remove(entry.path(), ec);
      }
    }
  });
}

}  // namespace

Record execute_run(const RunPlan& plan, const RunSettings& settings,
                   const std::atomic<bool>* cancel, bool* cancelled) {
  const auto wall_start = std::chrono::system_clock::now();
  Record record;
  record.run_id = new_run_id(wall_start);
  record.started_at = iso_utc(wall_start);
  // A fresh, private report file per run; removed after it has been read.
  remove_orphaned_report_files();
  const fs::path report_path =
      fs::temp_directory_path() / fmt::format("faultline-{}-{}.jsonl", ::getpid(), record.run_id);
  fs::path counts_path = report_path;
  counts_path.replace_extension(".counts");
  const fault::ChildFaultSetup faults = child_faults(plan, counts_path);
  const RunRequest request =
      run_request(plan, settings, cancel, record.run_id, report_path, faults);
  describe_run(record, plan, settings, request);

  RunResult result = run_process(request);
  ScenarioReport report = read_scenario_report(report_path.string());
  std::error_code ec;
  fs::remove(report_path, ec);
  // The shim's counts, as metrics of the run: what it saw and what it did.
  for (const auto& c : fault::read_syscall_counts(counts_path.string(), faults.syscall_calls)) {
    report.metrics["syscall_" + c.call + "_calls"] = {static_cast<double>(c.calls), "calls"};
    report.metrics["syscall_" + c.call + "_injected"] = {static_cast<double>(c.injected), "calls"};
  }
  if (!faults.syscall_calls.empty()) fs::remove(counts_path, ec);
  if (cancelled) *cancelled = result.cancelled;

  std::vector<std::string> suspicious;
  Symbolizer* symbolizer = driver_symbolizer();
  record.symptoms = collect_symptoms(result, report, &suspicious, symbolizer);
  add_exec_symptoms(plan, result, record.symptoms);
  record.first_symptom_s = first_symptom_seconds(result, report, record.symptoms);
  for (auto& note : suspicious) report.notes.push_back(std::move(note));
  const std::optional<std::string> broken =
      run_broken(result, record.symptoms, report, plan.scenario_protocol);
  record.limits = recorded_limits(settings, result);
  record.duration_s = std::chrono::duration<double>(result.duration).count();
  record.exit = recorded_exit(result);
  record.output = recorded_output(result, symbolizer);
  take_report(record, std::move(report));
  if (!faults.note.empty()) record.notes.push_back(faults.note);
  if (result.escaped_processes > 0) {
    record.notes.push_back(fmt::format(
        "{} process{} of the run had left its process group (setsid, setpgid or a double fork) "
        "and outlived it: killed with the run's cgroup",
        result.escaped_processes, result.escaped_processes == 1 ? "" : "es"));
  }
  if (result.ended_at_answer) {
    record.notes.push_back(
        "ended at the answer (--end-at-answer): a complete report showed the incident, so the "
        "driver killed the run there; metrics the scenario reports at its end are missing");
  }
  record.completion = {!broken.has_value(), broken.value_or("")};
  const Judgement judgement = judge_record(record);
  record.verdict = std::string(outcome_name(judgement.outcome));
  record.verdict_reason = judgement.reason;
  return record;
}

}  // namespace faultline
