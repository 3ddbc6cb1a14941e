#include "harness/nemesis/nemesis.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "harness/nemesis/server_process.h"
#include "harness/probe/run_clock.h"
#include "harness/probe/shown.h"
#include "harness/probe/splitmix.h"
#include "harness/scenario/fault_spec.h"
#include "harness/scenario/scenario_api.h"

namespace faultline::nemesis {
namespace {

using Clock = std::chrono::steady_clock;

constexpr double kMinEvery = 0.01;      // s: a faster schedule would only measure the nemesis
constexpr double kMinDuration = 0.001;  // s

std::string_view form_of(ActionKind kind) {
  switch (kind) {
    case ActionKind::kPause:
      return "pause:at=SECONDS,for=SECONDS or "
             "pause:every=SECONDS,for=SECONDS[,jitter=SECONDS][,start=SECONDS][,count=N]";
    case ActionKind::kKill:
      return "kill:at=SECONDS[,for=SECONDS] or "
             "kill:every=SECONDS,for=SECONDS[,jitter=SECONDS][,start=SECONDS][,count=N]";
    case ActionKind::kRestart:
      return "restart:at=SECONDS or "
             "restart:every=SECONDS[,jitter=SECONDS][,start=SECONDS][,count=N]";
  }
  return "";
}

[[noreturn]] void bad(std::string_view text, ActionKind kind, std::string_view problem) {
  throw std::invalid_argument(fmt::format("--nemesis '{}': {}; write {} (docs/faults.md)",
                                          shown(text), shown(problem, 400), form_of(kind)));
}

double seconds_value(std::string_view text, ActionKind kind, std::string_view key,
                     const std::string& value) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(value.c_str(), &end);
  if (value.empty() || errno != 0 || end != value.c_str() + value.size() || !std::isfinite(v) ||
      v < 0) {
    bad(text, kind, fmt::format("{}={} is not a number of seconds >= 0", key, value));
  }
  // A run lasts at most a day (--timeout); a time beyond it would overflow the schedule's clock.
  if (v > 86400)
    bad(text, kind, fmt::format("{}={} is beyond a day: use at most 86400", key, value));
  return v;
}

// splitmix64: the schedule's only source of randomness.
std::uint64_t splitmix(std::uint64_t& state) {
  state += kGoldenGamma;
  return mix64(state);
}

// Uniform in [-1, 1).
double symmetric(std::uint64_t& state) {
  return static_cast<double>(splitmix(state) >> 11) / 4503599627370496.0 - 1.0;
}

// The actions of one spec, in order, one at a time.
class Stream {
 public:
  Stream(const NemesisSpec& spec, std::size_t position, std::uint64_t seed)
      : spec_(spec), position_(position), rng_(seed) {
    // A stream of its own per spec: adding a spec does not move the others' actions.
    std::uint64_t salt = position + 1;
    rng_ ^= splitmix(salt);
  }

  std::optional<PlannedAction> next() {
    double t = 0;
    if (spec_.at) {
      if (n_ > 0) return std::nullopt;
      t = *spec_.at;
    } else {
      if (spec_.count && n_ >= *spec_.count) return std::nullopt;
      double mean = n_ == 0 ? spec_.start.value_or(*spec_.every) : last_ + *spec_.every;
      t = std::max(0.0, mean + spec_.jitter * symmetric(rng_));
    }
    last_ = t;
    return PlannedAction{t, spec_.kind, spec_.duration, position_, n_++};
  }

 private:
  const NemesisSpec& spec_;
  std::size_t position_;
  std::uint64_t rng_;
  std::uint64_t n_ = 0;
  double last_ = 0;
};

}  // namespace

std::string_view action_name(ActionKind kind) {
  switch (kind) {
    case ActionKind::kPause:
      return "pause";
    case ActionKind::kKill:
      return "kill";
    case ActionKind::kRestart:
      return "restart";
  }
  return "?";
}

NemesisSpec parse_nemesis_spec(std::string_view text) {
  FaultSpec raw;
  try {
    raw = parse_fault_spec(text);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format(
        "--nemesis '{}' is not kind:key=value,...: write for example pause:at=1.0,for=0.2; the "
        "kinds are pause, kill and restart (docs/faults.md)",
        shown(text)));
  }
  NemesisSpec spec;
  spec.text = std::string(text);
  if (raw.kind == "pause") {
    spec.kind = ActionKind::kPause;
  } else if (raw.kind == "kill") {
    spec.kind = ActionKind::kKill;
  } else if (raw.kind == "restart") {
    spec.kind = ActionKind::kRestart;
  } else {
    throw std::invalid_argument(fmt::format(
        "--nemesis '{}': unknown kind '{}': the kinds are pause, kill and restart (for example "
        "pause:at=1.0,for=0.2; docs/faults.md)",
        shown(text), raw.kind));
  }
  for (const auto& [key, value] : raw.params) {
    if (key == "at") {
      spec.at = seconds_value(text, spec.kind, key, value);
    } else if (key == "every") {
      spec.every = seconds_value(text, spec.kind, key, value);
    } else if (key == "jitter") {
      spec.jitter = seconds_value(text, spec.kind, key, value);
    } else if (key == "start") {
      spec.start = seconds_value(text, spec.kind, key, value);
    } else if (key == "for" && spec.kind != ActionKind::kRestart) {
      spec.duration = seconds_value(text, spec.kind, key, value);
    } else if (key == "count") {
      std::uint64_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || p != value.data() + value.size() || n < 1) {
        bad(text, spec.kind, fmt::format("count={} is not a whole number >= 1", value));
      }
      spec.count = n;
    } else {
      bad(text, spec.kind, fmt::format("'{}' is not a key of {}", key, action_name(spec.kind)));
    }
  }
  auto given = [&](std::string_view key) { return raw.get(key).has_value(); };
  if (spec.at.has_value() == spec.every.has_value()) {
    bad(text, spec.kind, "give exactly one of at= (once) and every= (repeated)");
  }
  if (spec.at) {
    for (std::string_view key : {"jitter", "start", "count"}) {
      if (given(key)) bad(text, spec.kind, fmt::format("{}= goes with every=, not at=", key));
    }
  }
  if (spec.duration && *spec.duration < kMinDuration) {
    bad(text, spec.kind, fmt::format("for= must be at least {} s", kMinDuration));
  }
  if (spec.kind == ActionKind::kPause && !spec.duration) {
    bad(text, spec.kind, "a pause needs for= (how long the server stays stopped)");
  }
  if (spec.every) {
    if (*spec.every < kMinEvery) {
      bad(text, spec.kind, fmt::format("every= must be at least {} s", kMinEvery));
    }
    if (spec.kind == ActionKind::kKill && !spec.duration) {
      bad(text, spec.kind, "a repeated kill needs for= (how long the server stays down)");
    }
    if (spec.jitter >= *spec.every) {
      bad(text, spec.kind,
          fmt::format("jitter={} must be below every={} (gaps stay positive)", spec.jitter,
                      *spec.every));
    }
    if (spec.duration && *spec.duration >= *spec.every - spec.jitter) {
      bad(text, spec.kind,
          fmt::format("for={} must be below every - jitter = {} (one spec's actions never "
                      "overlap)",
                      *spec.duration, *spec.every - spec.jitter));
    }
  }
  return spec;
}

std::vector<NemesisSpec> parse_nemesis_specs(const std::vector<std::string>& texts) {
  std::vector<NemesisSpec> out;
  out.reserve(texts.size());
  for (const auto& t : texts) out.push_back(parse_nemesis_spec(t));
  return out;
}

std::optional<std::string> validate_nemesis_spec(std::string_view text) {
  try {
    (void)parse_nemesis_spec(text);
    return std::nullopt;
  } catch (const std::invalid_argument& e) {
    return std::string(e.what());
  }
}

std::vector<PlannedAction> plan_nemesis(const std::vector<NemesisSpec>& specs, std::uint64_t seed,
                                        double horizon_s) {
  std::vector<PlannedAction> out;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    Stream stream(specs[i], i, seed);
    while (auto a = stream.next()) {
      if (a->t > horizon_s) break;
      out.push_back(*a);
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const PlannedAction& a, const PlannedAction& b) { return a.t < b.t; });
  return out;
}

struct Nemesis::Impl {
  enum class Step { kBegin, kEndPause, kEndKill };
  struct Event {
    Step step;
    PlannedAction action;
  };

  Impl(std::vector<NemesisSpec> s, std::uint64_t seed_, ServerProcess& srv, Reporter& rep)
      : specs(std::move(s)), seed(seed_), server(srv), report(rep) {}

  std::vector<NemesisSpec> specs;
  std::uint64_t seed;
  ServerProcess& server;
  Reporter& report;
  Clock::time_point t0;
  double t0_run = 0;  // t0 on the run clock (harness/probe/run_clock.h)

  mutable std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  bool stopped = false;
  NemesisStats stats;
  std::thread thread;

  // The plan's clock: seconds since start(); the plan's `at` times and the details count on it.
  double now_s() const { return std::chrono::duration<double>(Clock::now() - t0).count(); }
  // An event on the record's timeline, whose times are on the run clock.
  void mark(std::string_view what, double plan_t, std::string_view detail) {
    report.timeline(what, t0_run + plan_t, detail);
  }
  void run();
  // Does one due event; may schedule its end. Called without the lock.
  void act(const Event& e, std::multimap<double, Event>& events);
  void count(std::uint64_t NemesisStats::*field) {
    std::lock_guard lock(mu);
    ++(stats.*field);
  }
};

void Nemesis::Impl::run() {
  std::vector<Stream> streams;
  std::multimap<double, Event> events;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    streams.emplace_back(specs[i], i, seed);
    if (auto a = streams.back().next()) events.emplace(a->t, Event{Step::kBegin, *a});
  }
  std::unique_lock lock(mu);
  while (!stopping && !events.empty()) {
    auto due = t0 + std::chrono::duration_cast<Clock::duration>(
                        std::chrono::duration<double>(events.begin()->first));
    if (cv.wait_until(lock, due, [this] { return stopping; })) break;
    Event e = events.begin()->second;
    events.erase(events.begin());
    if (e.step == Step::kBegin) {
      if (auto a = streams[e.action.spec].next()) events.emplace(a->t, Event{Step::kBegin, *a});
    }
    lock.unlock();
    act(e, events);
    lock.lock();
  }
}

void Nemesis::Impl::act(const Event& e, std::multimap<double, Event>& events) {
  const auto& a = e.action;
  const std::string& text = specs[a.spec].text;
  const double t = now_s();
  auto state_name = [](ServerProcess::State s) {
    return s == ServerProcess::State::kDown ? "down" : "paused";
  };
  auto skip = [&](std::string_view why) {
    count(&NemesisStats::skipped);
    mark("nemesis.skip", t,
         fmt::format("{} #{} planned at {:.3f} s not done: {} ({})", action_name(a.kind), a.index,
                     a.t, why, text));
  };
  auto restart = [&](std::string_view why) {
    auto begun = Clock::now();
    pid_t old = server.pid();  // -1: it was down; else restart() SIGKILLs it first
    try {
      server.restart();
      count(&NemesisStats::restarts);
      mark("nemesis.restart", t,
           fmt::format("{}: {}pid {} listening on port {} after {:.3f} s ({})", why,
                       old > 0 ? fmt::format("SIGKILL pid {}, ", old) : std::string(), server.pid(),
                       server.port(), std::chrono::duration<double>(Clock::now() - begun).count(),
                       text));
    } catch (const std::exception& err) {
      count(&NemesisStats::restart_failures);
      mark("nemesis.restart_failed", t, fmt::format("{} ({})", err.what(), text));
    }
  };
  switch (e.step) {
    case Step::kBegin:
      if (a.kind == ActionKind::kPause) {
        pid_t pid = server.pid();
        if (!server.pause())
          return skip(fmt::format("the server is {}", state_name(server.state())));
        // pause() returns once the kernel reports the server stopped, which on a loaded machine
        // can be milliseconds after SIGSTOP was sent: the pause is timed from the stop itself.
        const double t_stopped = now_s();
        count(&NemesisStats::pauses);
        mark("nemesis.pause", t_stopped,
             fmt::format("SIGSTOP pid {} sent at {:.3f} s, stopped for {:.3f} s, #{} "
                         "planned at {:.3f} s ({})",
                         pid, t, *a.duration, a.index, a.t, text));
        events.emplace(t_stopped + *a.duration, Event{Step::kEndPause, a});
      } else if (a.kind == ActionKind::kKill) {
        pid_t pid = server.pid();
        if (!server.kill()) return skip("the server is down");
        count(&NemesisStats::kills);
        mark("nemesis.kill", t,
             fmt::format("SIGKILL pid {}, #{} planned at {:.3f} s{} ({})", pid, a.index, a.t,
                         a.duration ? fmt::format(", down for {:.3f} s", *a.duration)
                                    : std::string(", stays down"),
                         text));
        if (a.duration) events.emplace(t + *a.duration, Event{Step::kEndKill, a});
      } else {
        restart(fmt::format("#{} planned at {:.3f} s", a.index, a.t));
      }
      return;
    case Step::kEndPause: {
      pid_t pid = server.pid();
      if (server.resume()) {
        // Stamped once the server runs again, so the gap to its nemesis.pause event is the time
        // it really stood still (the thread can be descheduled between due time and SIGCONT).
        mark("nemesis.resume", now_s(),
             fmt::format("SIGCONT pid {} due at {:.3f} s (end of pause #{}, {})", pid, t, a.index,
                         text));
      }
      return;  // not paused any more: a kill or restart came first, and is on the timeline
    }
    case Step::kEndKill:
      if (server.state() != ServerProcess::State::kDown) {
        return skip("the server is up again already");
      }
      restart(fmt::format("end of kill #{}", a.index));
      return;
  }
}

Nemesis::Nemesis(std::vector<NemesisSpec> specs, std::uint64_t seed, ServerProcess& server,
                 Reporter& report)
    : impl_(std::make_unique<Impl>(std::move(specs), seed, server, report)) {}

Nemesis::~Nemesis() {
  stop();
}

void Nemesis::start() {
  std::lock_guard lock(impl_->mu);
  if (impl_->thread.joinable() || impl_->stopped) throw std::logic_error("Nemesis::start twice");
  impl_->t0 = Clock::now();
  impl_->t0_run = run_seconds(impl_->t0);
  impl_->report.timeline("nemesis.start", impl_->t0_run,
                         "the nemesis plan's times count from here");
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

void Nemesis::stop() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (!impl_->thread.joinable()) return;  // never started: nothing done, nothing to report
  impl_->thread.join();
  auto& rep = impl_->report;
  pid_t pid = impl_->server.pid();
  if (impl_->server.resume()) {
    impl_->mark("nemesis.resume", impl_->now_s(),
                fmt::format("SIGCONT pid {} (the nemesis stopped: the run ended)", pid));
  }
  NemesisStats s = stats();
  rep.metric("nemesis_pauses", static_cast<double>(s.pauses), "pauses");
  rep.metric("nemesis_kills", static_cast<double>(s.kills), "kills");
  rep.metric("nemesis_restarts", static_cast<double>(s.restarts), "restarts");
  rep.metric("nemesis_skipped", static_cast<double>(s.skipped), "actions");
  rep.metric("nemesis_restart_failures", static_cast<double>(s.restart_failures), "restarts");
  rep.metric("nemesis_paused_s", s.paused_s, "s");
}

NemesisStats Nemesis::stats() const {
  NemesisStats s;
  {
    std::lock_guard lock(impl_->mu);
    s = impl_->stats;
  }
  s.paused_s = impl_->server.paused_seconds();
  return s;
}

}  // namespace faultline::nemesis
