// The nemesis (Jepsen's word): process faults done to a scenario's server at given times or at
// seeded random intervals, each written to the record's timeline. docs/faults.md has the grammar:
//
//   pause:at=1.0,for=0.2        SIGSTOP at 1.0 s, SIGCONT 0.2 s later
//   kill:at=2.0                 SIGKILL at 2.0 s; the server stays down until a restart
//   kill:at=2.0,for=0.5         SIGKILL at 2.0 s, started again on its port 0.5 s later
//   restart:at=2.5              start the server again on its port (killing it first if it is up)
//   pause:every=0.5,for=0.1,jitter=0.2,count=5
//                               5 pauses; the gap between two starts is 0.5 s +- 0.2 s (seeded)
//
// Times are seconds since Nemesis::start(), which a scenario calls as its load begins.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline {
class Reporter;
}

namespace faultline::nemesis {

class ServerProcess;

enum class ActionKind { kPause, kKill, kRestart };
std::string_view action_name(ActionKind kind);

struct NemesisSpec {
  std::string text;  // as given
  ActionKind kind = ActionKind::kPause;
  std::optional<double> at;     // a one-off action at this time, s
  std::optional<double> every;  // repeated: mean gap between two starts, s
  double jitter = 0;            // repeated: each gap is every +- jitter (uniform, seeded), s
  std::optional<double> start;  // repeated: mean time of the first action (default: every), s
  std::optional<std::uint64_t> count;  // repeated: how many (default: until the run ends)
  std::optional<double> duration;      // `for`: pause length, or down time before the restart, s
};

// Parses and checks one spec. Throws std::invalid_argument with a message that names the spec,
// the offending key and the accepted form.
NemesisSpec parse_nemesis_spec(std::string_view text);
std::vector<NemesisSpec> parse_nemesis_specs(const std::vector<std::string>& texts);
// The same check without the exception, for the driver: the message, or nothing when good.
std::optional<std::string> validate_nemesis_spec(std::string_view text);

// One action of the schedule. `index` counts the actions of one spec from 0.
struct PlannedAction {
  double t = 0;  // s since start
  ActionKind kind = ActionKind::kPause;
  std::optional<double> duration;
  std::size_t spec = 0;
  std::uint64_t index = 0;
  bool operator==(const PlannedAction&) const = default;
};

// The actions every spec asks for up to `horizon` seconds, in time order: a pure function of the
// specs and the seed (each spec draws from its own splitmix64 stream of the seed and its
// position), so a run and its replay do the same thing at the same planned times.
std::vector<PlannedAction> plan_nemesis(const std::vector<NemesisSpec>& specs, std::uint64_t seed,
                                        double horizon_s);

struct NemesisStats {
  std::uint64_t pauses = 0, kills = 0, restarts = 0;
  std::uint64_t skipped = 0;  // actions that did not apply (pause of a down server, ...)
  std::uint64_t restart_failures = 0;
  double paused_s = 0;  // time the server spent stopped, measured between SIGSTOP and SIGCONT
};

// Runs the plan on its own thread against one ServerProcess and writes each action with its time
// to report.timeline() (what = "nemesis.pause", "nemesis.resume", "nemesis.kill",
// "nemesis.restart", "nemesis.skip", "nemesis.restart_failed").
class Nemesis {
 public:
  Nemesis(std::vector<NemesisSpec> specs, std::uint64_t seed, ServerProcess& server,
          Reporter& report);
  ~Nemesis();  // stop()
  Nemesis(const Nemesis&) = delete;
  Nemesis& operator=(const Nemesis&) = delete;

  // t = 0 is now.
  void start();
  // Ends the schedule (actions not yet due are not done), resumes the server if it is paused,
  // and reports the metrics nemesis_pauses, nemesis_kills, nemesis_restarts, nemesis_skipped,
  // nemesis_restart_failures and nemesis_paused_s. A server killed and not yet restarted stays
  // down. Idempotent.
  void stop();
  NemesisStats stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace faultline::nemesis
