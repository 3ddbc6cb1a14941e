#include "harness/scenario/scenario_api.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "harness/probe/resource_tally.h"
#include "harness/probe/write_all.h"
#include "harness/scenario/fault_spec.h"
#include "harness/scenario/perturbation.h"
#include "harness/scenario/report_events.h"
#include "harness/scenario/server_counters.h"

namespace faultline {
namespace {

std::string_view type_name(ParamType type) {
  switch (type) {
    case ParamType::kInt:
      return "int";
    case ParamType::kDouble:
      return "double";
    case ParamType::kBool:
      return "bool";
    case ParamType::kString:
      return "string";
  }
  return "string";
}

ParamType type_from_name(std::string_view name) {
  if (name == "int") return ParamType::kInt;
  if (name == "double") return ParamType::kDouble;
  if (name == "bool") return ParamType::kBool;
  if (name == "string") return ParamType::kString;
  throw std::runtime_error(fmt::format("unknown parameter type '{}'", name));
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> parse_double(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::string copy(s);
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(copy.c_str(), &end);
  if (errno != 0 || end != copy.c_str() + copy.size()) return std::nullopt;
  return v;
}

std::optional<bool> parse_bool(std::string_view s) {
  if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "0" || s == "no" || s == "off") return false;
  return std::nullopt;
}

std::string range_text(const ParamSpec& spec) {
  if (spec.min && spec.max) return fmt::format("from {} to {}", *spec.min, *spec.max);
  if (spec.min) return fmt::format("at least {}", *spec.min);
  if (spec.max) return fmt::format("at most {}", *spec.max);
  return "any";
}

const std::string& lookup(const std::map<std::string, std::string>& values, std::string_view name) {
  auto it = values.find(std::string(name));
  if (it == values.end()) {
    // A scenario asking for a parameter it did not declare is a programming error.
    throw std::logic_error(fmt::format("scenario reads undeclared parameter '{}'", name));
  }
  return it->second;
}

void print_help(const ScenarioSpec& spec, std::string_view argv0) {
  std::cout << fmt::format(
      "{} - {}\n(seed write-up {}; oracle: {})\n\n"
      "usage: {} [--variant V] [--seed S] [--set key=value ...] [--report FILE]\n"
      "          [--fault SPEC ...] [--perturb SPEC] [--nemesis SPEC]\n"
      "       {} --describe\n"
      "       {} --serve [--variant V] [--seed S] [--set ...] [--port P] [--state FILE]\n"
      "           (the scenario's own server alone, if it has one, until SIGTERM)\n\n"
      "Usually run by the faultline driver: faultline run {} --help\n\n"
      "variants: {}\nparameters:\n",
      spec.id, spec.title, spec.seed, spec.oracle, argv0, argv0, argv0, spec.id,
      fmt::join(spec.variants, ", "));
  for (const auto& p : spec.params) {
    std::cout << fmt::format("  {:<22} {:<7} default {:<8} {}\n", p.name, type_name(p.type),
                             p.optional ? "(unset)" : p.default_value, p.help);
  }
  std::cout << fmt::format(
      "fault families: {}\n",
      spec.faults.empty() ? std::string("none") : fmt::format("{}", fmt::join(spec.faults, ", ")));
  std::cout << "expectations:\n";
  for (const auto& e : spec.expectations) std::cout << "  " << e.text() << "\n";
}

}  // namespace

nlohmann::json spec_to_json(const ScenarioSpec& spec) {
  nlohmann::json params = nlohmann::json::array();
  for (const auto& p : spec.params) {
    nlohmann::json j = {{"name", p.name},
                        {"type", type_name(p.type)},
                        {"default", p.default_value},
                        {"help", p.help}};
    if (p.min) j["min"] = *p.min;
    if (p.max) j["max"] = *p.max;
    if (!p.choices.empty()) j["choices"] = p.choices;
    if (p.optional) j["optional"] = true;
    params.push_back(std::move(j));
  }
  nlohmann::json expectations = nlohmann::json::array();
  for (const auto& e : spec.expectations) expectations.push_back(expectation_to_json(e));
  return {{"id", spec.id},
          {"seed", spec.seed},
          {"title", spec.title},
          {"oracle", spec.oracle},
          {"variants", spec.variants},
          {"params", params},
          {"faults", spec.faults},
          {"expectations", expectations},
          {"observes", spec.observes}};
}

ScenarioSpec spec_from_json(const nlohmann::json& json) {
  try {
    ScenarioSpec spec;
    spec.id = json.at("id").get<std::string>();
    spec.seed = json.at("seed").get<std::string>();
    spec.title = json.at("title").get<std::string>();
    spec.oracle = json.at("oracle").get<std::string>();
    spec.variants = json.at("variants").get<std::vector<std::string>>();
    for (const auto& j : json.at("params")) {
      ParamSpec p;
      p.name = j.at("name").get<std::string>();
      p.type = type_from_name(j.at("type").get<std::string>());
      p.default_value = j.at("default").get<std::string>();
      p.help = j.at("help").get<std::string>();
      if (j.contains("min")) p.min = j["min"].get<double>();
      if (j.contains("max")) p.max = j["max"].get<double>();
      if (j.contains("choices")) p.choices = j["choices"].get<std::vector<std::string>>();
      p.optional = j.value("optional", false);
      spec.params.push_back(std::move(p));
    }
    if (json.contains("faults")) spec.faults = json["faults"].get<std::vector<std::string>>();
    if (json.contains("observes")) {
      spec.observes = json["observes"].get<std::vector<std::string>>();
    }
    if (json.contains("expectations")) {
      for (const auto& e : json["expectations"]) {
        spec.expectations.push_back(expectation_from_json(e));
      }
    }
    return spec;
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("malformed scenario description: {}", e.what()));
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(fmt::format("malformed scenario description: {}", e.what()));
  }
}

std::optional<std::string> validate_param(const ParamSpec& spec, std::string_view value) {
  switch (spec.type) {
    case ParamType::kInt: {
      auto v = parse_int(value);
      if (!v) return fmt::format("'{}' is not a whole number (parameter {})", value, spec.name);
      if ((spec.min && *v < *spec.min) || (spec.max && *v > *spec.max)) {
        return fmt::format("{}={} is out of range: allowed {}", spec.name, value, range_text(spec));
      }
      return std::nullopt;
    }
    case ParamType::kDouble: {
      auto v = parse_double(value);
      if (!v) return fmt::format("'{}' is not a number (parameter {})", value, spec.name);
      if ((spec.min && *v < *spec.min) || (spec.max && *v > *spec.max)) {
        return fmt::format("{}={} is out of range: allowed {}", spec.name, value, range_text(spec));
      }
      return std::nullopt;
    }
    case ParamType::kBool:
      if (!parse_bool(value)) {
        return fmt::format("'{}' is not true or false (parameter {})", value, spec.name);
      }
      return std::nullopt;
    case ParamType::kString:
      if (!spec.choices.empty() &&
          std::find(spec.choices.begin(), spec.choices.end(), value) == spec.choices.end()) {
        return fmt::format("{}={} is not allowed: choose one of {}", spec.name, value,
                           fmt::join(spec.choices, ", "));
      }
      return std::nullopt;
  }
  return std::nullopt;
}

ParamSpec int_param(std::string name, std::int64_t default_value, double min, double max,
                    std::string help) {
  return {std::move(name),
          ParamType::kInt,
          std::to_string(default_value),
          std::move(help),
          min,
          max,
          {}};
}

ParamSpec real_param(std::string name, double default_value, double min, double max,
                     std::string help) {
  return {std::move(name),
          ParamType::kDouble,
          fmt::format("{}", default_value),
          std::move(help),
          min,
          max,
          {}};
}

ParamSpec text_param(std::string name, std::string default_value, std::vector<std::string> choices,
                     std::string help) {
  return {std::move(name), ParamType::kString, std::move(default_value), std::move(help),
          std::nullopt,    std::nullopt,       std::move(choices)};
}

ParamSpec optional_real_param(std::string name, double min, double max, std::string help) {
  ParamSpec p = real_param(std::move(name), 0, min, max, std::move(help));
  p.default_value.clear();
  p.optional = true;
  return p;
}

ParamSpec open_loop_rate_param(std::string_view what, double max) {
  return optional_real_param(
      "rate", 0.01, max,
      fmt::format("open loop: {} at this many per second, each timed from when it was due "
                  "(latency_corrected); unset: the seed's own load (docs/latency.md)",
                  what));
}

std::int64_t Params::integer(std::string_view name) const {
  return parse_int(lookup(values_, name)).value();
}
double Params::real(std::string_view name) const {
  return parse_double(lookup(values_, name)).value();
}
bool Params::boolean(std::string_view name) const {
  return parse_bool(lookup(values_, name)).value();
}
const std::string& Params::text(std::string_view name) const {
  return lookup(values_, name);
}

Params resolve_params(const ScenarioSpec& spec, const std::vector<std::string>& overrides) {
  std::map<std::string, std::string> values;
  for (const auto& p : spec.params) {
    if (!p.optional) values[p.name] = p.default_value;
  }
  for (const auto& kv : overrides) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw std::invalid_argument(
          fmt::format("'{}' is not key=value: write it as --set name=value", kv));
    }
    std::string key = kv.substr(0, eq);
    std::string value = kv.substr(eq + 1);
    auto it = std::find_if(spec.params.begin(), spec.params.end(),
                           [&](const ParamSpec& p) { return p.name == key; });
    if (it == spec.params.end()) {
      std::vector<std::string> names;
      for (const auto& p : spec.params) names.push_back(p.name);
      throw std::invalid_argument(
          fmt::format("{} has no parameter '{}': its parameters are {}", spec.id, key,
                      names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
    }
    if (auto error = validate_param(*it, value)) throw std::invalid_argument(*error);
    values[key] = value;
  }
  return Params(std::move(values));
}

Reporter::Reporter(const std::string& path) {
  if (path.empty()) return;
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw std::runtime_error(
        fmt::format("cannot open report file {}: {}", path, std::strerror(errno)));
  }
}

Reporter::~Reporter() {
  if (fd_ >= 0) ::close(fd_);
}

void Reporter::emit(const nlohmann::json& event) {
  if (fd_ < 0) return;
  std::string line = event.dump() + "\n";
  // One write per event: O_APPEND makes it land whole even with several writer threads. A
  // failed write is not fatal: the driver sees the missing events, and a scenario must not die
  // of it.
  (void)write_all(fd_, line.data(), line.size());
}

void Reporter::metric(std::string_view name, double value, std::string_view unit) {
  nlohmann::json e = {
      {report_event::kType, report_event::kMetric}, {"name", name}, {"value", value}};
  if (!unit.empty()) e["unit"] = unit;
  emit(e);
}

void Reporter::observation(std::string_view kind, std::uint64_t count, std::string_view detail,
                           std::optional<std::chrono::steady_clock::time_point> first_seen) {
  nlohmann::json e = {
      {report_event::kType, report_event::kObservation}, {"kind", kind}, {"count", count}};
  if (!detail.empty()) e["detail"] = detail;
  if (first_seen && count > 0) {
    e["first_seen_ns"] =
        std::chrono::duration_cast<std::chrono::nanoseconds>(first_seen->time_since_epoch())
            .count();
  }
  emit(e);
}

void Reporter::sample(std::string_view series, double t_seconds, double value) {
  emit({{report_event::kType, report_event::kSample},
        {"series", series},
        {"t", t_seconds},
        {"value", value}});
}

void Reporter::note(std::string_view text) {
  emit({{report_event::kType, report_event::kNote}, {"text", text}});
}

void Reporter::timeline(std::string_view what, double t_seconds, std::string_view detail) {
  nlohmann::json e = {
      {report_event::kType, report_event::kTimeline}, {"what", what}, {"t", t_seconds}};
  if (!detail.empty()) e["detail"] = detail;
  emit(e);
}

void Reporter::histogram(std::string_view prefix, const LatencyHistogram& h, double divisor,
                         std::string_view unit) {
  auto name = [&](std::string_view suffix) { return std::string(prefix) + std::string(suffix); };
  auto scaled = [&](double v) { return v / divisor; };
  metric(name("_count"), static_cast<double>(h.count()));
  if (h.count() == 0) return;
  metric(name("_p50"), scaled(static_cast<double>(h.percentile(50))), unit);
  metric(name("_p90"), scaled(static_cast<double>(h.percentile(90))), unit);
  metric(name("_p99"), scaled(static_cast<double>(h.percentile(99))), unit);
  metric(name("_p999"), scaled(static_cast<double>(h.percentile(99.9))), unit);
  metric(name("_max"), scaled(static_cast<double>(h.max())), unit);
  metric(name("_mean"), scaled(h.mean()), unit);
  emit({{report_event::kType, report_event::kHistogram},
        {"name", std::string(prefix)},
        {"h", h.encode()},
        {"unit", unit},
        {"divisor", divisor}});
}

void Reporter::latency_over_time(std::string_view prefix, const LatencySeries& s, double divisor,
                                 std::string_view unit) {
  const std::string p(prefix), u(unit);
  for (const auto& b : s.buckets()) {
    const double mid = (b.from + b.to) / 2;
    sample(p + "_per_s", mid, static_cast<double>(b.count) / (b.to - b.from));
    if (b.count == 0) continue;
    sample(p + "_p99_" + u, mid, static_cast<double>(b.p99) / divisor);
    sample(p + "_max_" + u, mid, static_cast<double>(b.max) / divisor);
  }
  if (s.dropped() > 0) {
    note(fmt::format("{} over time: {} completions past the first {} not drawn", p, s.dropped(),
                     LatencySeries::kMaxPoints));
  }
}

void Reporter::load_latency(const LatencyHistogram& latency, const LatencyHistogram* corrected,
                            const LatencySeries& over_time, double divisor, std::string_view unit) {
  histogram("latency", latency, divisor, unit);
  if (corrected) histogram("latency_corrected", *corrected, divisor, unit);
  latency_over_time(corrected ? "latency_corrected" : "latency", over_time, divisor, unit);
}

void Reporter::metrics(const Measures& measures) {
  for (const auto& m : measures) metric(m.name, m.value, m.unit);
}

void Reporter::done() {
  emit({{report_event::kType, report_event::kDone}});
}

std::vector<std::string> scenario_argv(const ScenarioArgs& a) {
  std::vector<std::string> words = {"--variant", a.variant, "--seed", std::to_string(a.seed)};
  auto add = [&](const char* flag, const std::string& value) {
    words.push_back(flag);
    words.push_back(value);
  };
  for (const auto& kv : a.sets) add("--set", kv);
  if (!a.report_path.empty()) add("--report", a.report_path);
  for (const auto& f : a.faults) add("--fault", f);
  if (!a.perturb.empty()) add("--perturb", a.perturb);
  for (const auto& n : a.nemesis) add("--nemesis", n);
  if (a.serve) words.push_back("--serve");
  if (a.serve && a.port != 0) add("--port", std::to_string(a.port));
  if (!a.state_path.empty()) add("--state", a.state_path);
  return words;
}

ScenarioArgs parse_scenario_args(int argc, const char* const* argv) {
  ScenarioArgs a;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--describe") {
      a.describe = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      a.help = true;
      continue;
    }
    if (arg == "--serve") {
      a.serve = true;
      continue;
    }
    static const std::vector<std::string_view> kValued = {"--variant", "--seed",  "--set",
                                                          "--report",  "--fault", "--perturb",
                                                          "--nemesis", "--port",  "--state"};
    if (std::find(kValued.begin(), kValued.end(), arg) == kValued.end()) {
      throw std::invalid_argument(fmt::format("unknown argument '{}' (see --help)", arg));
    }
    if (i + 1 >= argc) throw std::invalid_argument(fmt::format("{} needs a value", arg));
    const std::string v = argv[++i];
    if (arg == "--variant") {
      a.variant = v;
    } else if (arg == "--seed") {
      auto n = parse_int(v);
      if (!n || *n < 0) {
        throw std::invalid_argument(fmt::format("--seed takes a whole number >= 0, not '{}'", v));
      }
      a.seed = static_cast<std::uint64_t>(*n);
    } else if (arg == "--set") {
      a.sets.push_back(v);
    } else if (arg == "--report") {
      a.report_path = v;
    } else if (arg == "--fault") {
      a.faults.push_back(v);
    } else if (arg == "--perturb") {
      a.perturb = v;
    } else if (arg == "--port") {
      auto n = parse_int(v);
      if (!n || *n < 0 || *n > 65535) {
        throw std::invalid_argument(fmt::format("--port takes 0..65535, not '{}'", v));
      }
      a.port = static_cast<int>(*n);
    } else if (arg == "--state") {
      a.state_path = v;
    } else {
      a.nemesis.push_back(v);
    }
  }
  return a;
}

namespace {

// What the spec rules out: an unknown variant, faults where there is no network, a nemesis
// where there is no server process. Returns the problem, or "".
std::string check_args_against_spec(const ScenarioSpec& spec, const ScenarioArgs& a) {
  if (std::find(spec.variants.begin(), spec.variants.end(), a.variant) == spec.variants.end()) {
    return fmt::format("unknown variant '{}': choose one of {}", a.variant,
                       fmt::join(spec.variants, ", "));
  }
  auto accepts = [&](std::string_view family) {
    return std::find(spec.faults.begin(), spec.faults.end(), family) != spec.faults.end();
  };
  for (const auto& text : a.faults) {
    try {
      (void)parse_fault_spec(text);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
  }
  if (!a.faults.empty() && !accepts("tcp") && !accepts("udp")) {
    return fmt::format("--fault: {} has no network to put faults on (fault families: {})", spec.id,
                       spec.faults.empty() ? std::string("none")
                                           : fmt::format("{}", fmt::join(spec.faults, ", ")));
  }
  if (!a.nemesis.empty() && !accepts("process")) {
    return fmt::format("--nemesis: {} has no server process to pause, kill or restart", spec.id);
  }
  return "";
}

// Switches perturbation on from --perturb, runs the body; a thread that could not start
// (std::thread throws EAGAIN) or an fd that could not be opened ends it: that is the run's symptom,
// reported as resource_exhausted (checked on every run, count 0 when nothing ran out).
int run_body(const ScenarioSpec& spec, ScenarioArgs a, const std::function<int(Context&)>& body,
             const ServeFn* serve) {
  Params params = resolve_params(spec, a.sets);
  Reporter reporter(a.report_path);
  Context ctx{spec,      a.variant, a.seed, std::move(params), reporter, a.faults,
              a.perturb, a.nemesis, serve};
  perturb::apply(ctx);
  int rc = 1;
  try {
    rc = body(ctx);
    // A body that returned 0 ran to its end: what the perturbation points did, then `done`.
    if (rc == 0) {
      perturb::report_perturbation(reporter);
      reporter.done();
    }
  } catch (const std::system_error& e) {
    const int err = e.code().value();
    const bool thread = err == EAGAIN;
    if (!thread && !ResourceTally::is_fd_exhaustion(err)) throw;
    resource_tally().note(e, thread ? "std::thread" : e.what(), thread);
    std::cerr << spec.id << ": stopped: " << e.what() << "\n";
  }
  reporter.observation("resource_exhausted", resource_tally().count(), resource_tally().detail());
  return rc;
}

// --serve: the scenario's server alone, until SIGINT or SIGTERM; SIGUSR1 pokes it. The signals
// are blocked before the server starts its threads (they inherit the mask), so only the wait here
// takes them. With a state file, the server's counters go to its counters file every 50 ms and
// at the end: a killed server's counts are then at most 50 ms old.
int serve_until_signalled(const ScenarioSpec& spec, const ScenarioArgs& a, const ServeFn& serve) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  Reporter reporter("");  // a server process reports through its output, not the channel
  Context ctx{spec,      a.variant, a.seed, resolve_params(spec, a.sets), reporter, a.faults,
              a.perturb, a.nemesis, &serve};
  perturb::apply(ctx);
  auto server = serve(ctx, ServeOptions{static_cast<std::uint16_t>(a.port), a.state_path});
  std::cout << fmt::format("listening on 127.0.0.1:{}\n", server->port()) << std::flush;
  const auto counters =
      a.state_path.empty() ? std::filesystem::path() : server_counters_path(a.state_path);
  auto save_counters = [&] {
    if (auto m = server->measures(); !counters.empty() && !m.empty()) {
      append_server_counters(counters, m);
    }
  };
  const timespec tick{0, 50'000'000};
  int sig = 0;
  while ((sig = sigtimedwait(&signals, nullptr, &tick)) != SIGINT && sig != SIGTERM) {
    if (sig == SIGUSR1) server->poke();
    if (sig < 0) save_counters();  // the tick (or EINTR)
  }
  std::cout << fmt::format("signal {}: stopping\n", sig) << std::flush;
  server->stop();
  save_counters();
  std::string summary = server->summary();
  for (const auto& m : summary.empty() ? server->measures() : Measures{}) {
    summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", m.name, m.value);
  }
  std::cout << fmt::format("stopped: {}\n", summary) << std::flush;
  return 0;
}

int checked_main(int argc, char** argv, const ScenarioSpec& spec,
                 const std::function<int(Context&)>& body, const ServeFn* serve);

}  // namespace

int scenario_main(int argc, char** argv, const ScenarioSpec& spec,
                  const std::function<int(Context&)>& body) {
  return checked_main(argc, argv, spec, body, nullptr);
}

int scenario_main(int argc, char** argv, const ScenarioSpec& spec,
                  const std::function<int(Context&)>& body, ServeFn serve) {
  return checked_main(argc, argv, spec, body, &serve);
}

namespace {
int checked_main(int argc, char** argv, const ScenarioSpec& spec,
                 const std::function<int(Context&)>& body, const ServeFn* serve) {
  auto fail = [&](const std::string& message) {
    std::cerr << spec.id << ": " << message << "\n";
    return 2;
  };
  // A spec whose expectations cannot be judged is the scenario's own mistake: say so at once.
  if (auto problems = check_expectations(spec); !problems.empty()) {
    return fail(
        fmt::format("its spec's expectations cannot be judged: {} (fix them in the "
                    "scenario's spec)",
                    fmt::join(problems, "; ")));
  }
  try {
    ScenarioArgs a = parse_scenario_args(argc, argv);
    if (a.describe) {
      std::cout << spec_to_json(spec).dump(2) << "\n";
      return 0;
    }
    if (a.help) {
      print_help(spec, argv[0]);
      return 0;
    }
    if (a.variant.empty() && !spec.variants.empty()) a.variant = spec.variants.front();
    if (a.report_path.empty()) {
      if (const char* env = std::getenv("FAULTLINE_REPORT")) a.report_path = env;
    }
    if (std::string problem = check_args_against_spec(spec, a); !problem.empty()) {
      return fail(problem);
    }
    if (a.serve) {
      if (serve == nullptr) return fail("--serve: this scenario has no server of its own");
      return serve_until_signalled(spec, a, *serve);
    }
    return run_body(spec, std::move(a), body, serve);
  } catch (const std::invalid_argument& e) {
    return fail(e.what());
  } catch (const std::logic_error& e) {
    // A scenario's own mistake (an undeclared parameter read, say): name it, never a pass.
    return fail(fmt::format("internal error: {}", e.what()));
  } catch (const std::runtime_error& e) {
    return fail(e.what());
  }
}
}  // namespace

namespace {
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t substitute = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitute});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}
}  // namespace

std::vector<std::string> near_names(const std::string& name,
                                    const std::vector<std::string>& candidates) {
  std::vector<std::pair<std::size_t, std::string>> scored;
  for (const auto& c : candidates) {
    std::size_t d = edit_distance(name, c);
    bool shares_part = !name.empty() && c.find(name) != std::string::npos;
    if (d <= std::max<std::size_t>(2, name.size() / 3) || shares_part) scored.emplace_back(d, c);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (auto& [d, c] : scored) out.push_back(c);
  if (out.size() > 3) out.resize(3);
  return out;
}

}  // namespace faultline
