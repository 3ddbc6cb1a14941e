// The scenario side of the "process" fault family. A scenario with a server of its own (a serve
// function given to scenario_main, harness/scenario/scenario_api.h) runs it in this process by
// default (its measured figures) and, with server=process or any --nemesis, as this same binary
// started again with --serve, under a Nemesis that pauses, kills and restarts it:
//
//   RunningServer server(ctx);   // started, in process or as a process; clients dial port()
//   server.start();              // t = 0 of the nemesis's schedule: the load begins
//   ... load ...
//   server.stop();               // the schedule ends; the server is resumed, then stopped
//
// Both places run the one serve function, so the incident's BUG: and FIX: lines are the same
// code whichever process holds them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "harness/nemesis/nemesis.h"
#include "harness/nemesis/server_process.h"
#include "harness/scenario/scenario_api.h"

namespace faultline::nemesis {

// The `server` parameter: in-process (default) or process.
ParamSpec server_param();

// server=process, or any --nemesis (a nemesis needs the server in its own process).
bool wants_server_process(const Context& ctx);

// A standalone server binary under the nemesis.
class ServerUnderNemesis {
 public:
  // Parses ctx.nemesis (std::invalid_argument for a bad spec), starts `binary` with `args`
  // (std::runtime_error if it cannot), and notes where it listens.
  ServerUnderNemesis(Context& ctx, const std::filesystem::path& binary,
                     std::vector<std::string> args);
  ~ServerUnderNemesis();  // stop()

  std::uint16_t port() const { return server_->port(); }
  ServerProcess& server() { return *server_; }
  void start();  // starts the nemesis (if any spec): its t = 0
  // Ends the nemesis (reporting its metrics), then stops the server and notes what it printed.
  // Idempotent.
  void stop();

 private:
  Context& ctx_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Nemesis> nemesis_;
  bool stopped_ = false;
};

// The scenario's own server (ctx.serve), in process or as this binary with --serve.
class RunningServer {
 public:
  explicit RunningServer(Context& ctx);  // std::logic_error if the scenario has no serve function
  ~RunningServer();                      // stop(), and the state file removed

  std::uint16_t port() const;
  // The server object when it runs in this process (its live statistics), else null.
  ScenarioServer* in_process() const { return local_.get(); }
  // The file a --serve process keeps its state in (read it after stop()); "" in process.
  const std::filesystem::path& state_path() const { return state_path_; }
  void start();  // the nemesis's t = 0 (nothing to do in process)
  void stop();   // idempotent

  // The server's pid now: this process's in process, -1 while a server process is down.
  pid_t pid() const;
  // ScenarioServer::poke(): a call in process, SIGUSR1 to a server process. False when nothing
  // could receive it (the server process is down); a paused one takes it when it resumes.
  bool poke();
  // The server's counters: its measures() in process; a server process's, summed over its
  // incarnations from the counters file (at most 50 ms old while it runs; final after stop()).
  Measures measures() const;
  // Waits (at most `timeout`) until the counter `measure` of measures() is at least `at_least`;
  // polled every 10 ms (a server process writes its counters every 50 ms). True once it is.
  bool wait_for(std::string_view measure, double at_least, std::chrono::milliseconds timeout) const;
  // Whether a server process was down (killed, not yet listening again) at any time in
  // [from, to]. Never in process.
  bool down_between(std::chrono::steady_clock::time_point from,
                    std::chrono::steady_clock::time_point to) const;

 private:
  std::filesystem::path state_path_;
  std::unique_ptr<ScenarioServer> local_;
  std::unique_ptr<ServerUnderNemesis> process_;
  bool stopped_ = false;
};

}  // namespace faultline::nemesis
