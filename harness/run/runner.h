// Runs one child process and survives whatever it does.
//
// The child gets its own process group, so a timeout or a cancel kills it and every descendant
// it forked. Its stdout and stderr are captured up to a cap (the head and the tail of each
// stream are kept, with a marker saying how much of the middle was dropped). Resource limits are
// applied in the child before exec. Where the driver may make cgroup2 groups with cgroup.kill
// (containment_support()), the child starts in a cgroup of its own, so descendants that left the
// process group (setsid, setpgid, a double fork) are killed when the run ends, and counted. The
// child dies with the driver (PR_SET_PDEATHSIG) and a watcher process kills the group and the
// cgroup when the driver dies, by SIGKILL too; without a cgroup, descendants that left the group
// can outlive the run.
//
// run_process() may be called from several threads at once. What it needs from the rest of the
// driver: SIGCHLD is not ignored, and nothing reaps children it did not start (no wait(-1) or
// waitpid(-1)); the child is reaped by the thread that started it.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace faultline {

// Each limit is set as both the soft and the hard limit of the child, capped to the driver's own
// hard limit (a child could not get more than that anyway).
struct RunLimits {
  std::optional<std::uint64_t> address_space_bytes;  // RLIMIT_AS; sanitizer builds need terabytes
  std::optional<std::uint64_t> open_files;           // RLIMIT_NOFILE
  // RLIMIT_NPROC counts every process and thread of the real user id, not only the child's, and
  // does not bind root.
  std::optional<std::uint64_t> processes;
  // Tasks (threads and processes together) the run may have at once: pids.max of a cgroup made
  // for the run, or RLIMIT_NPROC where no pids cgroup is writable and the driver is not root (see
  // thread_limit_support()). The child itself counts as one.
  std::optional<std::uint64_t> threads;
  std::uint64_t core_bytes = 0;  // RLIMIT_CORE: no core files by default
};

// How RunLimits::threads is enforced on this machine, probed once per driver.
struct ThreadLimitSupport {
  // "cgroup2 pids.max", "cgroup1 pids.max", "RLIMIT_NPROC", or "" when none works.
  std::string mechanism;
  std::string parent;  // the cgroup folder per-run cgroups are made in (cgroup mechanisms)
  std::string error;   // why nothing works, naming what was tried, when mechanism is ""
};
const ThreadLimitSupport& thread_limit_support();

// How the descendants of a run are held, probed once per driver by making a cgroup for real.
struct ContainmentSupport {
  // "cgroup2": each run gets a cgroup under `parent`, killed whole with cgroup.kill;
  // "process group": the group alone (descendants that leave it are beyond reach).
  std::string mechanism;
  std::string parent;
  std::string why_not;  // why there is no cgroup, for "process group"
};
const ContainmentSupport& containment_support();

struct RunRequest {
  // argv[0] is the program: a path, or a bare name looked up in PATH (the PATH of `env` if it sets
  // one, else the driver's).
  std::vector<std::string> argv;
  // Set on top of the driver's own environment; a later entry for the same name wins.
  std::vector<std::pair<std::string, std::string>> env;
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  std::chrono::milliseconds kill_grace{std::chrono::seconds(2)};  // SIGTERM, then SIGKILL
  std::size_t output_cap_bytes = 4u << 20;  // kept per stream: half head, half tail
  RunLimits limits;
  // Set by another thread (or a signal handler) to stop the run: the group is killed as on a
  // timeout and the result says cancelled. Polled at least every 50 ms; already set at the call,
  // nothing is started.
  const std::atomic<bool>* cancel = nullptr;
  // The child's working directory ("" for the driver's). A relative program path is taken from
  // it, as a shell in that folder would.
  std::string cwd;
  // Given each chunk of the child's stderr as it is read, in order, on the thread in
  // run_process. Returning true ends the run at once: SIGKILL to its group (the cgroup follows at
  // the reap), and the result says ended_at_answer. Unset: the run goes on to its end.
  std::function<bool(std::string_view chunk)> answer;
};

struct CapturedStream {
  std::string text;                 // head + marker + tail when bytes were dropped
  std::uint64_t total_bytes = 0;    // everything the child wrote
  std::uint64_t dropped_bytes = 0;  // what was not kept
  // When the output reached the driver: after each read, the bytes read so far and the time
  // since the child's exec (the first kMaxArrivals reads).
  struct Arrival {
    std::uint64_t bytes_so_far;
    std::chrono::nanoseconds since_exec;
  };
  static constexpr std::size_t kMaxArrivals = 8192;
  std::vector<Arrival> arrivals;
  // Since the child's exec, when byte `offset` of the stream (counted as the child wrote it)
  // reached the driver; nothing when that read was not timed.
  std::optional<std::chrono::nanoseconds> arrival_of(std::uint64_t offset) const;
};

struct RunResult {
  bool started = false;
  std::string start_error;       // why it did not start, e.g. "cannot execute 'x': No such file..."
  int start_errno = 0;           // the errno behind start_error (ENOENT, EACCES...), 0 when started
  pid_t pid = -1;                // also the id of the child's process group
  std::optional<int> exit_code;  // set when the child exited
  std::optional<int> signal;     // set when the child was killed by a signal
  bool core_dumped = false;
  bool timed_out = false;          // the driver stopped it at the timeout
  bool cancelled = false;          // the driver stopped it because cancel was set
  bool ended_at_answer = false;    // RunRequest::answer said yes: the driver killed it
  bool escalated_to_kill = false;  // SIGTERM was not enough
  std::chrono::steady_clock::time_point started_at{};  // just before fork
  std::chrono::nanoseconds duration{0};  // steady clock, from just before fork to the reap
  // From just before fork to the child's execve: its own clock reading just before the call
  // (the driver may see the exec succeed a scheduler tick later).
  std::chrono::nanoseconds exec_at{0};
  std::chrono::nanoseconds exit_seen_at{0};  // since exec, when the driver saw the child exit
  // Peak RSS of the child (wait4's ru_maxrss). Linux counts the image the child had between fork
  // and exec, which is a copy of the driver's: this is never below the driver's RSS at the fork.
  std::uint64_t max_rss_bytes = 0;
  // How limits.threads was enforced (ThreadLimitSupport::mechanism), "" when it was not set.
  std::string threads_enforced_by;
  std::string contained_by;  // ContainmentSupport::mechanism of the run
  // The child was started inside the run's cgroup2 group by clone3 (CLONE_INTO_CGROUP) rather
  // than moved into it before its exec (false without a cgroup2 group).
  bool started_in_cgroup = false;
  // Processes of the run that had left its process group and were still running when its leader
  // exited (all killed then); only counted with cgroup containment.
  std::uint64_t escaped_processes = 0;
  CapturedStream out;
  CapturedStream err;
};

RunResult run_process(const RunRequest& request);

// "SIGSEGV" for 11, and so on; "SIGRTMIN+<n>" for real-time signals; "SIG<n>" for numbers
// without a name.
std::string signal_name(int signal);

// True for the name of something a driver made for one of its runs ("faultline-<driver pid>-...":
// a report file, a run's cgroup) when that driver is gone: a SIGKILLed driver cannot remove them.
bool left_by_dead_driver(std::string_view name);

}  // namespace faultline
