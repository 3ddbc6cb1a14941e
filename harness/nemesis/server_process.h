// A standalone server (servers/*/server_main.cpp) run as a child process of a scenario, so that a
// nemesis can pause, kill and restart it: the server's side of the "process" fault family.
//
// Lifetimes: the ServerProcess owns its child from start() until the child is reaped (kill(),
// stop(), a restart, or the destructor). The child never outlives the scenario: it carries
// PR_SET_PDEATHSIG = SIGKILL, and stop() sends SIGCONT before SIGTERM, because a stopped process
// leaves SIGTERM pending forever. PR_SET_PDEATHSIG fires when the *thread* that forked the child
// ends, not the process, so every fork happens on a spawner thread the ServerProcess owns:
// restarting from a short-lived thread (the nemesis's) would otherwise kill the new server the
// moment that thread ended.
//
// Threads: every method is safe from any thread; they are serialised by one lock.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::nemesis {

// The standalone server binary `name` of this build: `<dir of /proc/self/exe>/../servers/<name>`.
// Throws std::runtime_error naming the missing path and the command that builds it.
std::filesystem::path find_server_binary(std::string_view name);

class ServerProcess {
 public:
  enum class State { kDown, kRunning, kPaused };

  // `args` are the server's own options without --port: start() adds `--port 0` the first time
  // and `--port <the port it got>` on every restart, so clients reconnect to the same address.
  // The server must print "listening on 127.0.0.1:<port>" on stdout once it accepts connections.
  ServerProcess(std::filesystem::path binary, std::vector<std::string> args,
                std::chrono::milliseconds start_timeout = std::chrono::seconds(30));
  ~ServerProcess();  // stop()
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Spawns the server and waits (up to start_timeout) for its "listening on" line. Throws
  // std::runtime_error if it exits or stays silent; the server is then reaped, never left over.
  void start();
  // SIGSTOP / SIGCONT. Each returns false, doing nothing, unless the server is running / paused.
  bool pause();
  bool resume();
  // SIGKILL and reap (a paused server dies too). False if the server was already down.
  bool kill();
  // A crash-restart: kill() if up, then start() on the same port (retried briefly if the port is
  // still taken). Throws std::runtime_error if the server does not come back.
  void restart();
  // Graceful end: SIGCONT if paused, SIGTERM, up to `grace` for it to exit, then SIGKILL; reaps.
  // Returns the wait status of the child, or -1 if it was already down. Idempotent.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

  State state() const;
  pid_t pid() const;           // -1 while down
  std::uint16_t port() const;  // 0 before the first start()
  // Time the server spent stopped by SIGSTOP so far, over every incarnation, in seconds.
  double paused_seconds() const;
  // When the server was down between two incarnations: from a kill (or its own death) to the
  // next start that listened; `to` is empty while it is still down. In time order.
  struct Outage {
    std::chrono::steady_clock::time_point from;
    std::optional<std::chrono::steady_clock::time_point> to;
  };
  std::vector<Outage> outages() const;
  // What the server printed on stdout after its "listening on" line, for every incarnation
  // reaped so far (its final statistics line, say).
  std::string output() const;
  const std::filesystem::path& binary() const;

  struct Impl;  // public so that the spawner can name it; not part of the API

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace faultline::nemesis
