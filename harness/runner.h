// Runs one child process and survives whatever it does.
//
// The child gets its own process group, so a timeout or a cancel kills it and every descendant
// it forked. Its stdout and stderr are captured up to a cap (the head and the tail of each
// stream are kept, with a marker saying how much of the middle was dropped). Resource limits are
// applied in the child before exec. The child dies with the driver (PR_SET_PDEATHSIG), so a
// killed driver leaves nothing running.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace faultline {

struct RunLimits {
  std::optional<std::uint64_t> address_space_bytes;  // RLIMIT_AS
  std::optional<std::uint64_t> open_files;           // RLIMIT_NOFILE
  std::optional<std::uint64_t> processes;            // RLIMIT_NPROC (threads count here)
  std::uint64_t core_bytes = 0;                      // RLIMIT_CORE: no core files by default
};

struct RunRequest {
  std::vector<std::string> argv;                            // argv[0] is the program
  std::vector<std::pair<std::string, std::string>> env;     // set on top of the driver's own
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  std::chrono::milliseconds kill_grace{std::chrono::seconds(2)};  // SIGTERM, then SIGKILL
  std::size_t output_cap_bytes = 4u << 20;  // kept per stream: half head, half tail
  RunLimits limits;
  // Set by another thread (or a signal handler) to stop the run: the group is killed as on a
  // timeout and the result says cancelled.
  const std::atomic<bool>* cancel = nullptr;
};

struct CapturedStream {
  std::string text;                 // head + marker + tail when bytes were dropped
  std::uint64_t total_bytes = 0;    // everything the child wrote
  std::uint64_t dropped_bytes = 0;  // what was not kept
};

struct RunResult {
  bool started = false;
  std::string start_error;     // why exec failed (not found, not executable...)
  pid_t pid = -1;
  std::optional<int> exit_code;  // set when the child exited
  std::optional<int> signal;     // set when the child was killed by a signal
  bool core_dumped = false;
  bool timed_out = false;      // the driver stopped it at the timeout
  bool cancelled = false;      // the driver stopped it because cancel was set
  bool escalated_to_kill = false;  // SIGTERM was not enough
  std::chrono::nanoseconds duration{0};
  std::uint64_t max_rss_bytes = 0;
  CapturedStream out;
  CapturedStream err;
};

RunResult run_process(const RunRequest& request);

// "SIGSEGV" for 11, and so on; "SIG<n>" for numbers without a name.
std::string signal_name(int signal);

}  // namespace faultline
