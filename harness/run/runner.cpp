// The process runner: fork and exec with containment, capped capture, timeout, cancel, reap.
//
// One call owns its child from fork to reap. The order that matters:
//   1. everything the child needs (argv, envp, rlimits, fds) is built before fork, because
//      between fork and exec only async-signal-safe calls are allowed in a threaded parent;
//   2. the parent learns whether exec worked from a CLOEXEC pipe: EOF means exec succeeded;
//   3. the child is noticed as exited with waitid(WNOWAIT) and left a zombie until the end, so
//      its pid, which names the process group, cannot be reused while the group is signalled;
//   4. the rest of the group is killed, the pipes drained for a bounded time, then the zombie is
//      reaped with wait4 for its status and rusage;
//   5. the child joins its run's cgroup before exec (so everything it starts is in it from its
//      first instruction): a cgroup2 group whose cgroup.kill ends every descendant, the ones that
//      left the process group (setsid, setpgid, a double fork) too, and with a thread limit its
//      pids.max; the cgroup is removed after the reap, once every task in it is gone.
#include "harness/run/runner.h"

#include <fcntl.h>
#include <linux/sched.h>  // clone_args, CLONE_INTO_CGROUP
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string_view>
#include <thread>

extern char** environ;

// clang says whether a sanitizer is on through __has_feature; gcc defines __SANITIZE_*__.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define FAULTLINE_HAS_SANITIZER_FEATURE 1
#endif
#endif
#ifndef FAULTLINE_HAS_SANITIZER_FEATURE
#define FAULTLINE_HAS_SANITIZER_FEATURE 0
#endif

#include "harness/probe/proc_cgroup.h"
#include "harness/probe/write_all.h"

namespace faultline {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kTick{50};         // cancel is seen within this
constexpr std::chrono::milliseconds kTickNoPidfd{10};  // exit noticed by polling instead
constexpr std::chrono::milliseconds kDrainBound{200};  // after the child exited
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr int kReadsPerWake = 16;  // then the other stream and the clock get their turn
constexpr int kExitExecFailed = 127;
// Longer waits are taken as "never": a time_point plus milliseconds::max() would overflow.
constexpr std::chrono::milliseconds kNever = std::chrono::hours(24 * 365 * 10);

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Not retried on EINTR: on Linux the descriptor is released whatever close returns.
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// strerror() may share one buffer between threads. strerror_r comes in a GNU flavour (returns
// the message) and an XSI one (returns 0 and fills the buffer): these overloads accept either.
[[maybe_unused]] const char* pick_message(const char* message, const char*) {
  return message;
}
[[maybe_unused]] const char* pick_message(int rc, const char* buffer) {
  return rc == 0 ? buffer : "unknown error";
}

std::string error_text(int err) {
  char buffer[256] = {};
  return pick_message(::strerror_r(err, buffer, sizeof buffer), buffer);
}

// The child moves its pipe ends onto 0, 1 and 2 with dup2; an end that already sits on one of
// those numbers (a driver started with a closed stdio) could be overwritten before it is used.
bool keep_above_stdio(UniqueFd& fd) {
  if (fd.get() > 2) return true;
  int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3);
  if (moved < 0) return false;
  fd = UniqueFd(moved);
  return true;
}

// O_CLOEXEC at creation, not later: another thread may fork between two calls, and its child
// must not keep our pipes open past its exec.
bool make_pipe(UniqueFd& read_end, UniqueFd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  read_end = UniqueFd(fds[0]);
  write_end = UniqueFd(fds[1]);
  return keep_above_stdio(read_end) && keep_above_stdio(write_end);
}

// Keeps the first half of the cap and the last half of what a stream wrote; memory stays at
// about the cap however much the child writes.
class StreamCapture {
 public:
  explicit StreamCapture(std::size_t cap) : head_cap_(cap / 2), tail_cap_(cap - cap / 2) {}

  void append(const char* data, std::size_t n) {
    total_ += n;
    std::size_t to_head = std::min(n, head_cap_ - head_.size());
    if (to_head > 0) {
      // Reserve by hand so that doubling never takes the head past its cap.
      if (head_.size() + to_head > head_.capacity()) {
        head_.reserve(std::min(head_cap_, std::max(head_.size() + to_head, 2 * head_.capacity())));
      }
      head_.append(data, to_head);
      data += to_head;
      n -= to_head;
    }
    if (n > 0) push_tail(data, n);
  }

  std::uint64_t total() const { return total_; }

  CapturedStream finish() && {
    CapturedStream stream;
    stream.total_bytes = total_;
    stream.dropped_bytes = total_ - head_.size() - tail_.size();
    std::string marker;
    if (stream.dropped_bytes > 0) {
      marker = "\n[faultline: " + std::to_string(stream.dropped_bytes) + " bytes dropped here]\n";
    }
    stream.text = std::move(head_);
    stream.text.reserve(stream.text.size() + marker.size() + tail_.size());
    stream.text += marker;
    stream.text.append(tail_, tail_oldest_);
    stream.text.append(tail_, 0, tail_oldest_);
    return stream;
  }

 private:
  // tail_ fills up to tail_cap_ in order; from then on it is a ring whose oldest byte is at
  // tail_oldest_.
  void push_tail(const char* data, std::size_t n) {
    if (tail_cap_ == 0) return;
    if (n >= tail_cap_) {
      tail_.assign(data + (n - tail_cap_), tail_cap_);
      tail_oldest_ = 0;
      return;
    }
    if (tail_.size() < tail_cap_) {
      tail_.reserve(tail_cap_);
      std::size_t fill = std::min(n, tail_cap_ - tail_.size());
      tail_.append(data, fill);
      data += fill;
      n -= fill;
    }
    while (n > 0) {
      std::size_t chunk = std::min(n, tail_cap_ - tail_oldest_);
      std::memcpy(tail_.data() + tail_oldest_, data, chunk);
      tail_oldest_ = (tail_oldest_ + chunk) % tail_cap_;
      data += chunk;
      n -= chunk;
    }
  }

  std::size_t head_cap_;
  std::size_t tail_cap_;
  std::string head_;
  std::string tail_;
  std::size_t tail_oldest_ = 0;
  std::uint64_t total_ = 0;
};

// One captured stream: the read end of its pipe and what was kept of it.
struct StreamPipe {
  UniqueFd fd;
  StreamCapture capture;
  Clock::time_point exec_at = Clock::now();  // set again once exec succeeded
  std::vector<CapturedStream::Arrival> arrivals;
  const std::function<bool(std::string_view)>* answer = nullptr;  // RunRequest::answer, stderr
  bool answered = false;
};

// Reads what is there now, up to a bound. Closes the pipe at EOF (every writer gone) or on an
// error other than EAGAIN.
void read_available(StreamPipe& pipe, char* buffer) {
  for (int i = 0; i < kReadsPerWake && pipe.fd.valid(); ++i) {
    ssize_t got = ::read(pipe.fd.get(), buffer, kReadChunk);
    if (got > 0) {
      pipe.capture.append(buffer, static_cast<std::size_t>(got));
      if (pipe.answer != nullptr && !pipe.answered) {
        pipe.answered = (*pipe.answer)(std::string_view(buffer, static_cast<std::size_t>(got)));
      }
      if (pipe.arrivals.size() < CapturedStream::kMaxArrivals) {
        pipe.arrivals.push_back({pipe.capture.total(), Clock::now() - pipe.exec_at});
      }
    } else if (got < 0 && errno == EINTR) {
      continue;
    } else if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    } else {
      pipe.fd.reset();
    }
  }
}

// Waits for the pipes (and the pidfd, when there is one) for at most `wait`, then reads.
// Returns true when the pidfd reported the exit.
bool poll_once(StreamPipe& out, StreamPipe& err, const UniqueFd& pidfd,
               std::chrono::milliseconds wait, char* buffer) {
  pollfd fds[3];
  nfds_t n = 0;
  StreamPipe* owners[2] = {nullptr, nullptr};
  for (StreamPipe* pipe : {&out, &err}) {
    if (!pipe->fd.valid()) continue;
    owners[n] = pipe;
    fds[n++] = {pipe->fd.get(), POLLIN, 0};
  }
  const nfds_t pipes = n;
  if (pidfd.valid()) fds[n++] = {pidfd.get(), POLLIN, 0};
  // With nothing to watch, poll still sleeps for `wait`, which keeps the caller's loop a tick.
  int rc = ::poll(fds, n, static_cast<int>(std::max<std::int64_t>(wait.count(), 0)));
  if (rc <= 0) return false;  // timeout, or EINTR: the caller loops and looks at the clock
  for (nfds_t i = 0; i < pipes; ++i) {
    if (fds[i].revents != 0) read_available(*owners[i], buffer);
  }
  return pidfd.valid() && fds[pipes].revents != 0;
}

// True once the child is a zombie; it is not reaped here (WNOWAIT).
bool has_exited(pid_t pid) {
  for (;;) {
    siginfo_t info{};
    int rc = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    if (rc == 0) return info.si_pid == pid;
    if (errno == EINTR) continue;
    return true;  // ECHILD: someone else reaped it; nothing left to wait for
  }
}

void signal_group(pid_t pgid, int sig) {
  ::kill(-pgid, sig);
}

std::chrono::milliseconds until(Clock::time_point now, Clock::time_point when) {
  if (when <= now) return std::chrono::milliseconds(0);
  return std::chrono::ceil<std::chrono::milliseconds>(when - now);
}

// What the child reports through the exec pipe: kAboutToExec with the time (CLOCK_MONOTONIC,
// the driver's steady_clock) just before execve, so the run's clock starts at the exec and not
// when the driver got round to seeing it; or, when it cannot get to exec, the step that failed.
struct ChildFailure {
  enum Stage : int { kStdio, kLimit, kCgroup, kChdir, kExec, kAboutToExec };
  int stage = kExec;
  int err = 0;
  int limit_index = 0;  // into ChildPlan::limits for kLimit, ChildPlan::cgroup_procs for kCgroup
  std::int64_t exec_ns = 0;  // kAboutToExec
};

struct ResourceLimit {
  int resource;
  const char* name;
  rlimit value;
};

// Everything the child touches between fork and exec, prepared by the parent.
struct ChildPlan {
  std::string program;  // resolved path handed to execve
  std::string cwd;      // chdir here first ("" to stay)
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::vector<ResourceLimit> limits;
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  int report_fd = -1;
  std::vector<std::string> cgroup_procs;  // the cgroup.procs files of the run's cgroups to join
  // The cgroup2 group that contains the run (O_PATH), for clone3's CLONE_INTO_CGROUP, and its
  // index in cgroup_procs: a child started in it does not write that cgroup.procs.
  UniqueFd contain_fd;
  int contain_index = -1;
  int max_fd = 1024;  // bound for closing inherited fds when close_range is missing
  pid_t parent = -1;
};

[[noreturn]] void report_and_exit(const ChildPlan& plan, ChildFailure failure) {
  (void)write_all(plan.report_fd, &failure, sizeof failure);
  ::_exit(kExitExecFailed);
}

bool move_fd(int from, int to) {
  if (from == to) return ::fcntl(to, F_SETFD, 0) == 0;  // dup2 would leave CLOEXEC set
  while (::dup2(from, to) < 0) {
    if (errno != EINTR) return false;
  }
  return true;
}

// Closes every descriptor the child inherited except stdio and the report pipe: the driver's
// results file, other runs' pipes created by threads that do not use CLOEXEC...
void close_inherited_fds(const ChildPlan& plan) {
#ifdef SYS_close_range
  bool ok = plan.report_fd == 3 || ::syscall(SYS_close_range, 3u, plan.report_fd - 1u, 0u) == 0;
  if (ok && ::syscall(SYS_close_range, plan.report_fd + 1u, ~0u, 0u) == 0) return;
#endif
  for (int fd = 3; fd < plan.max_fd; ++fd) {
    if (fd != plan.report_fd) ::close(fd);
  }
}

// Runs in the forked child. The parent may have other threads, whose locks (malloc's among them)
// were copied in whatever state they were in: only async-signal-safe calls until execve.
[[noreturn]] void exec_child(const ChildPlan& plan, bool started_in_cgroup) {
  // First into its own group, so that nothing it starts escapes a group kill.
  ::setpgid(0, 0);
  // Dies with the thread that forked it; that thread stays in run_process until the reap. If
  // the driver died before prctl, the parent is already someone else.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != plan.parent) ::_exit(kExitExecFailed);

  // The parent blocked every signal around fork, so no driver handler can run here. The child
  // starts with default dispositions (an ignored SIGPIPE would survive exec) and an empty mask.
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction action {};
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    ::sigaction(sig, &action, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  if (!move_fd(plan.stdin_fd, 0) || !move_fd(plan.stdout_fd, 1) || !move_fd(plan.stderr_fd, 2)) {
    report_and_exit(plan, {ChildFailure::kStdio, errno, 0});
  }
  close_inherited_fds(plan);
  // "0" names the writer itself, in cgroup v1 and v2 alike: no number formatting needed here.
  for (std::size_t i = 0; i < plan.cgroup_procs.size(); ++i) {
    if (started_in_cgroup && static_cast<int>(i) == plan.contain_index) continue;
    const int fd = ::open(plan.cgroup_procs[i].c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::write(fd, "0", 1) != 1) {
      report_and_exit(plan, {ChildFailure::kCgroup, errno, static_cast<int>(i)});
    }
    ::close(fd);
  }
  for (std::size_t i = 0; i < plan.limits.size(); ++i) {
    if (::setrlimit(plan.limits[i].resource, &plan.limits[i].value) != 0) {
      report_and_exit(plan, {ChildFailure::kLimit, errno, static_cast<int>(i)});
    }
  }
  if (!plan.cwd.empty() && ::chdir(plan.cwd.c_str()) != 0) {
    report_and_exit(plan, {ChildFailure::kChdir, errno, 0});
  }
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);  // async-signal-safe
  const ChildFailure stamp{ChildFailure::kAboutToExec, 0, 0,
                           static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec};
  (void)write_all(plan.report_fd, &stamp, sizeof stamp);
  ::execve(plan.program.c_str(), plan.argv.data(), plan.envp.data());
  report_and_exit(plan, {ChildFailure::kExec, errno, 0});
}

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// execvp is not async-signal-safe, so a bare program name is looked up here, before fork.
// Returns 0 and sets `path`, or an errno.
int resolve_program(const std::string& name, const std::string& search_path, std::string& path) {
  if (name.empty()) return ENOENT;
  if (name.find('/') != std::string::npos) {
    path = name;
    return 0;
  }
  int err = ENOENT;
  std::string_view rest = search_path;
  for (;;) {
    std::size_t colon = rest.find(':');
    std::string dir(rest.substr(0, colon));
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    if (is_executable_file(candidate)) {
      path = candidate;
      return 0;
    }
    if (::access(candidate.c_str(), F_OK) == 0) err = EACCES;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return err;
}

std::string search_path_for(const RunRequest& request) {
  for (auto it = request.env.rbegin(); it != request.env.rend(); ++it) {
    if (it->first == "PATH") return it->second;
  }
  // getenv is safe here as long as nobody calls setenv concurrently, which the driver does not.
  const char* driver_path = std::getenv("PATH");
  return driver_path ? driver_path : "/usr/local/bin:/usr/bin:/bin";
}

std::vector<std::string> merged_environment(const RunRequest& request) {
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    env.emplace_back(*entry);
  }
  for (const auto& [name, value] : request.env) {
    const std::string prefix = name + "=";
    std::erase_if(env, [&](const std::string& e) { return e.starts_with(prefix); });
    env.push_back(prefix + value);
  }
  return env;
}

void add_limit(ChildPlan& plan, int resource, const char* name, std::uint64_t value) {
  rlimit current{};
  if (::getrlimit(resource, &current) != 0) current.rlim_max = RLIM_INFINITY;
  // Lowering a limit is always allowed; raising the hard limit is not, and would not help.
  rlim_t wanted = std::min<rlim_t>(static_cast<rlim_t>(value), current.rlim_max);
  plan.limits.push_back({resource, name, {wanted, wanted}});
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool has_word(const std::string& text, std::string_view word) {
  std::istringstream in(text);
  std::string w;
  while (in >> w) {
    if (w == word) return true;
  }
  return false;
}

bool write_text(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

// The driver's own cgroup in a hierarchy, from /proc/self/cgroup: the line "0::/path" for cgroup2,
// "N:...,pids,...:/path" for the v1 pids hierarchy.
std::string own_cgroup(bool v2) {
  for (const auto& m : own_cgroups()) {
    if (v2 ? m.is_v2() : m.has_controller("pids")) return m.path;
  }
  return "/";
}

// A per-run cgroup can be made under `dir` and given a pids.max: tried for real, then removed.
bool can_make_pids_cgroup(const std::string& dir, std::string& why) {
  const std::string probe = dir + "/faultline-probe-" + std::to_string(::getpid());
  if (::mkdir(probe.c_str(), 0755) != 0 && errno != EEXIST) {
    why = "cannot create a cgroup in " + dir + ": " + error_text(errno);
    return false;
  }
  const bool ok = write_text(probe + "/pids.max", "max");
  if (!ok) why = "cannot write " + probe + "/pids.max: " + error_text(errno);
  ::rmdir(probe.c_str());
  return ok;
}

// Where cgroup2 and the v1 pids hierarchy are mounted ("" when they are not).
struct CgroupMounts {
  std::string v2, v1_pids;
};
CgroupMounts cgroup_mounts() {
  CgroupMounts mounts;
  std::ifstream in("/proc/self/mounts");
  std::string device, dir, type, options;
  std::string rest;
  while (in >> device >> dir >> type >> options && std::getline(in, rest)) {
    std::replace(options.begin(), options.end(), ',', ' ');
    if (type == "cgroup2" && mounts.v2.empty()) mounts.v2 = dir;
    if (type == "cgroup" && has_word(options, "pids") && mounts.v1_pids.empty()) {
      mounts.v1_pids = dir;
    }
  }
  return mounts;
}

// The driver's own cgroup folder under a mount, or the mount's root when that folder is not
// visible (a container that shows only its own part of the hierarchy).
std::string cgroup_base(const std::string& mount, const std::string& own) {
  std::string dir = mount + (own == "/" ? "" : own);
  struct stat st {};
  return ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) ? dir : mount;
}

// The run cgroups ("faultline-<driver pid>-<n>") of drivers that are gone: one killed between
// making a run's cgroup and starting its watcher cannot remove it. Whatever is left in one is
// killed first.
void remove_orphaned_cgroups(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (!left_by_dead_driver(entry.path().filename().string())) continue;
    const std::string path = entry.path().string();
    for (int i = 0; i < 100 && ::rmdir(path.c_str()) != 0 && errno == EBUSY; ++i) {
      if (!write_text(path + "/cgroup.kill", "1")) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

ContainmentSupport probe_containment_support() {
  const std::string mount = cgroup_mounts().v2;
  if (mount.empty()) return {"process group", "", "no cgroup2 mounted"};
  const std::string dir = cgroup_base(mount, own_cgroup(true));
  const std::string probe = dir + "/faultline-probe-" + std::to_string(::getpid());
  if (::mkdir(probe.c_str(), 0755) != 0 && errno != EEXIST) {
    return {"process group", "", "cannot create a cgroup in " + dir + ": " + error_text(errno)};
  }
  const bool killable = ::access((probe + "/cgroup.kill").c_str(), W_OK) == 0;
  const int err = errno;
  ::rmdir(probe.c_str());
  if (!killable) {
    return {"process group", "",
            "no writable cgroup.kill in " + dir + " (Linux 5.14 or later): " + error_text(err)};
  }
  remove_orphaned_cgroups(dir);
  return {"cgroup2", dir, ""};
}

ThreadLimitSupport probe_thread_limit_support() {
  ThreadLimitSupport support;
  std::vector<std::string> tried;
  const CgroupMounts mounts = cgroup_mounts();
  const std::string& v2_mount = mounts.v2;
  const std::string& v1_mount = mounts.v1_pids;
  auto base = cgroup_base;
  if (!v2_mount.empty()) {
    const std::string dir = base(v2_mount, own_cgroup(true));
    std::string why;
    if (!has_word(read_text(dir + "/cgroup.controllers"), "pids")) {
      tried.push_back("cgroup2 at " + dir + " has no pids controller");
    } else if (!has_word(read_text(dir + "/cgroup.subtree_control"), "pids") &&
               !write_text(dir + "/cgroup.subtree_control", "+pids")) {
      tried.push_back("cannot enable pids in " + dir +
                      "/cgroup.subtree_control: " + error_text(errno));
    } else if (!can_make_pids_cgroup(dir, why)) {
      tried.push_back(why);
    } else {
      return {"cgroup2 pids.max", dir, ""};
    }
  } else {
    tried.push_back("no cgroup2 mounted");
  }
  if (!v1_mount.empty()) {
    const std::string dir = base(v1_mount, own_cgroup(false));
    std::string why;
    if (can_make_pids_cgroup(dir, why)) return {"cgroup1 pids.max", dir, ""};
    tried.push_back(why);
  } else {
    tried.push_back("no cgroup v1 pids hierarchy mounted");
  }
  if (::geteuid() != 0) return {"RLIMIT_NPROC", "", ""};
  std::string error =
      "--max-threads needs a writable pids cgroup when faultline runs as root "
      "(RLIMIT_NPROC does not bind root), and none was found: ";
  for (std::size_t i = 0; i < tried.size(); ++i) error += (i ? "; " : "") + tried[i];
  support.error = error;
  return support;
}

// One of the run's cgroups: made before fork, joined by the child before exec, removed after
// the reap. Whatever is still in it then (a grandchild that left the process group) is killed
// first, by cgroup.kill where the kernel has it: a cgroup with tasks cannot be removed.
class RunCgroup {
 public:
  RunCgroup() = default;
  RunCgroup(const RunCgroup&) = delete;
  RunCgroup& operator=(const RunCgroup&) = delete;
  ~RunCgroup() { remove(); }

  // Returns "" or why it failed. With max_tasks, also sets pids.max.
  std::string create(const std::string& parent, std::optional<std::uint64_t> max_tasks) {
    static std::atomic<std::uint64_t> counter{0};
    const std::string dir = parent + "/faultline-" + std::to_string(::getpid()) + "-" +
                            std::to_string(counter.fetch_add(1));
    if (::mkdir(dir.c_str(), 0755) != 0) {
      return "cannot create the run's cgroup " + dir + ": " + error_text(errno);
    }
    dir_ = dir;
    if (max_tasks && !write_text(dir + "/pids.max", std::to_string(*max_tasks))) {
      return "cannot write " + dir + "/pids.max: " + error_text(errno);
    }
    return "";
  }
  bool made() const { return !dir_.empty(); }
  const std::string& dir() const { return dir_; }
  std::string procs() const { return dir_ + "/cgroup.procs"; }

  std::vector<pid_t> members() const {
    std::vector<pid_t> out;
    std::istringstream pids(read_text(procs()));
    for (pid_t pid = 0; pids >> pid;) out.push_back(pid);
    return out;
  }

  // SIGKILL to every task in it: cgroup.kill (cgroup2, Linux 5.14) reaches the ones forked while
  // it works too; otherwise each listed pid.
  void kill_all() const {
    if (dir_.empty()) return;
    if (write_text(dir_ + "/cgroup.kill", "1")) return;
    for (pid_t pid : members()) ::kill(pid, SIGKILL);
  }

 private:
  void remove() {
    if (dir_.empty()) return;
    constexpr auto kGiveUp = std::chrono::seconds(5);
    const auto until = Clock::now() + kGiveUp;
    while (::rmdir(dir_.c_str()) != 0 && errno == EBUSY && Clock::now() < until) {
      kill_all();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // killed tasks are reaped
    }
    dir_.clear();
  }

  std::string dir_;
};

// The run's cgroups: `contain` (cgroup2, for cgroup.kill) and `pids` (a v1 pids.max), either
// unmade; with a cgroup2 thread limit both are one, `contain`.
struct RunCgroups {
  RunCgroup contain, pids;
};

RunResult not_started(RunResult result, int err, std::string message, Clock::time_point start) {
  result.started = false;
  result.start_errno = err;
  result.start_error = std::move(message);
  result.duration = Clock::now() - start;
  return result;
}

int reap(pid_t pid, rusage& usage) {
  int status = 0;
  while (::wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

// Why a run could not start: the errno and one line for the record.
struct StartError {
  int err;
  std::string message;
};

// The program, its argv and environment, and the limits the child applies before exec.
std::optional<StartError> plan_child(const RunRequest& request, ChildPlan& plan,
                                     RunCgroups& cgroups, RunResult& result) {
  const std::string& name = request.argv.front();
  if (int err = resolve_program(name, search_path_for(request), plan.program); err != 0) {
    const bool bare = err == ENOENT && name.find('/') == std::string::npos;
    return StartError{err, "cannot execute '" + name +
                               "': " + (bare ? std::string("not found in PATH") : error_text(err))};
  }
  plan.cwd = request.cwd;
  plan.argv_storage = request.argv;
  plan.env_storage = merged_environment(request);
  for (auto& arg : plan.argv_storage) plan.argv.push_back(arg.data());
  plan.argv.push_back(nullptr);
  for (auto& entry : plan.env_storage) plan.envp.push_back(entry.data());
  plan.envp.push_back(nullptr);
  const RunLimits& limits = request.limits;
  if (limits.address_space_bytes) {
    add_limit(plan, RLIMIT_AS, "RLIMIT_AS", *limits.address_space_bytes);
  }
  if (limits.open_files) add_limit(plan, RLIMIT_NOFILE, "RLIMIT_NOFILE", *limits.open_files);
  if (limits.processes) add_limit(plan, RLIMIT_NPROC, "RLIMIT_NPROC", *limits.processes);
  const ContainmentSupport& contain = containment_support();
  std::optional<std::uint64_t> v2_max_tasks;
  if (limits.threads) {
    const ThreadLimitSupport& support = thread_limit_support();
    if (support.mechanism == "RLIMIT_NPROC") {
      add_limit(plan, RLIMIT_NPROC, "RLIMIT_NPROC", *limits.threads);
    } else if (support.mechanism.empty()) {
      return StartError{EPERM, support.error};
    } else if (support.mechanism == "cgroup2 pids.max" && support.parent == contain.parent) {
      v2_max_tasks = limits.threads;  // the containing cgroup carries the limit
    } else if (auto error = cgroups.pids.create(support.parent, *limits.threads); !error.empty()) {
      return StartError{errno, error};
    } else {
      plan.cgroup_procs.push_back(cgroups.pids.procs());
    }
    result.threads_enforced_by = support.mechanism;
  }
  if (!contain.parent.empty()) {
    if (auto error = cgroups.contain.create(contain.parent, v2_max_tasks); !error.empty()) {
      return StartError{errno, error};
    }
    plan.contain_index = static_cast<int>(plan.cgroup_procs.size());
    plan.cgroup_procs.push_back(cgroups.contain.procs());
    plan.contain_fd =
        UniqueFd(::open(cgroups.contain.dir().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  result.contained_by = contain.mechanism;
  add_limit(plan, RLIMIT_CORE, "RLIMIT_CORE", limits.core_bytes);
  if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY) {
    plan.max_fd = static_cast<int>(std::min<rlim_t>(files.rlim_cur, 1u << 20));
  }
  plan.parent = ::getpid();
  return std::nullopt;
}

// The child's stdin (/dev/null), its stdout and stderr pipes, and the pipe on which it reports
// a failure before exec. The parent keeps the read ends; the write ends close after the fork.
struct ChildPipes {
  UniqueFd dev_null, out_w, err_w, report_r, report_w;
  StreamPipe out, err;
  std::unique_ptr<char[]> buffer = std::make_unique<char[]>(kReadChunk);  // one read at a time
  explicit ChildPipes(std::size_t cap)
      : out{UniqueFd(), StreamCapture(cap)}, err{UniqueFd(), StreamCapture(cap)} {}
};

std::optional<StartError> open_pipes(ChildPipes& p, ChildPlan& plan) {
  while (!p.dev_null.valid()) {
    p.dev_null = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!p.dev_null.valid() && errno != EINTR) {
      return StartError{errno, "cannot open /dev/null: " + error_text(errno)};
    }
  }
  if (!keep_above_stdio(p.dev_null) || !make_pipe(p.out.fd, p.out_w) ||
      !make_pipe(p.err.fd, p.err_w) || !make_pipe(p.report_r, p.report_w)) {
    return StartError{errno, "cannot create pipes: " + error_text(errno)};
  }
  plan.stdin_fd = p.dev_null.get();
  plan.stdout_fd = p.out_w.get();
  plan.stderr_fd = p.err_w.get();
  plan.report_fd = p.report_w.get();
  return std::nullopt;
}

// Starts the child directly in the cgroup `cgroup_fd` names (clone3 with CLONE_INTO_CGROUP,
// Linux 5.7): no migration afterwards. Writing the child's pid to cgroup.procs instead moves a
// running task, which takes the cgroup threadgroup lock for writing and waits for an RCU grace
// period: about 10 ms a run on this kind of machine (docs/performance.md), against tens of
// microseconds for a clone into the group. Returns the pid, 0 in the child, -1 when the kernel
// refuses (then the caller forks and the child joins by writing cgroup.procs).
// Sanitizer builds of the driver fork instead: their runtimes intercept fork to keep their own
// state consistent in the child, and a raw clone3 would bypass that.
pid_t clone_into_cgroup(int cgroup_fd) {
#if defined(SYS_clone3) && defined(CLONE_INTO_CGROUP) && !defined(__SANITIZE_THREAD__) && \
    !defined(__SANITIZE_ADDRESS__) && !FAULTLINE_HAS_SANITIZER_FEATURE
  if (cgroup_fd < 0 || std::getenv("FAULTLINE_NO_CLONE_INTO_CGROUP") != nullptr) return -1;
  clone_args args{};
  args.flags = CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<std::uint64_t>(cgroup_fd);
  return static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
#else
  (void)cgroup_fd;
  return -1;
#endif
}

// Signals stay blocked in this thread across fork so that no driver handler runs in the child
// before it resets the dispositions. Returns the pid, or -1 with errno set; `in_cgroup` says
// whether the child started in the run's cgroup2 group.
pid_t fork_child(const ChildPlan& plan, bool& in_cgroup) {
  sigset_t all, previous;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  pid_t pid = clone_into_cgroup(plan.contain_fd.get());
  if (pid == 0) exec_child(plan, true);
  in_cgroup = pid > 0;
  if (pid < 0) {
    pid = ::fork();
    if (pid == 0) exec_child(plan, false);
  }
  const int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  errno = fork_errno;
  return pid;
}

// A process of its own that kills the run if the driver dies, by SIGKILL too: it waits for EOF
// on a pipe only the driver holds, then kills the run's process group and, through cgroup.kill,
// everything else in the run's cgroup (descendants that left the group), and removes the cgroup.
// On the normal path the driver writes one byte before closing that pipe, while the run's leader
// is still a zombie (so its group id cannot have been reused), and reaps the watcher before the
// leader; the driver removes the cgroup itself then. A watcher that cannot start is skipped: the
// run goes on with the leader's PR_SET_PDEATHSIG alone.
class GroupWatcher {
 public:
  GroupWatcher(pid_t group, const RunCgroup& cgroup) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    const int kill_fd =
        cgroup.made() ? ::open((cgroup.dir() + "/cgroup.kill").c_str(), O_WRONLY | O_CLOEXEC) : -1;
    const std::string dir = cgroup.dir();  // the child's copy is read only: no allocation there
    sigset_t all, previous;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &previous);
    const pid_t pid = ::fork();
    if (pid == 0) watch(fds[0], kill_fd, group, dir.empty() ? nullptr : dir.c_str());
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    ::close(fds[0]);
    if (kill_fd >= 0) ::close(kill_fd);
    if (pid < 0) {
      ::close(fds[1]);
      return;
    }
    pid_ = pid;
    write_fd_ = fds[1];
  }
  ~GroupWatcher() { finish(); }
  GroupWatcher(const GroupWatcher&) = delete;
  GroupWatcher& operator=(const GroupWatcher&) = delete;

  // The run is over: the watcher kills what is left of it and is reaped.
  void finish() {
    if (write_fd_ < 0) return;
    (void)write_all(write_fd_, "x", 1);  // "the driver is alive": the cgroup stays its to remove
    ::close(write_fd_);
    write_fd_ = -1;
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }

 private:
  // Closes every descriptor but `a` and `b` (a < b, b may be -1).
  static void close_all_but(int a, int b) {
    if (b >= 0 && b < a) std::swap(a, b);
    bool closed = false;
#ifdef SYS_close_range
    auto range = [](int from, int to) {  // [from, to], empty when to < from
      return to < from || ::syscall(SYS_close_range, static_cast<unsigned>(from),
                                    static_cast<unsigned>(to), 0u) == 0;
    };
    closed = b < 0 ? range(0, a - 1) && range(a + 1, ~0u >> 1)
                   : range(0, a - 1) && range(a + 1, b - 1) && range(b + 1, ~0u >> 1);
#endif
    for (int fd = 0; !closed && fd < 65536; ++fd) {
      if (fd != a && fd != b) ::close(fd);
    }
  }

  // In the forked watcher: async-signal-safe calls only, every signal left blocked.
  [[noreturn]] static void watch(int read_fd, int kill_fd, pid_t group, const char* dir) {
    // Nothing else of the driver's stays open here: another run's pipe held by the watcher would
    // keep that run's drain waiting.
    close_all_but(read_fd, kill_fd);
    char byte;
    bool driver_alive = false;
    for (;;) {
      const ssize_t n = ::read(read_fd, &byte, 1);
      if (n > 0) driver_alive = true;
      if (n >= 0 || errno != EINTR) break;
    }
    ::kill(-group, SIGKILL);
    if (kill_fd >= 0) (void)::write(kill_fd, "1", 1);
    // The driver is gone: nobody else will remove the run's cgroup once its tasks are reaped.
    for (int i = 0; !driver_alive && dir != nullptr && i < 500; ++i) {
      if (::rmdir(dir) == 0 || errno != EBUSY) break;
      if (kill_fd >= 0) (void)::write(kill_fd, "1", 1);
      const timespec pause{0, 10'000'000};
      ::nanosleep(&pause, nullptr);
    }
    ::_exit(0);
  }

  pid_t pid_ = -1;
  int write_fd_ = -1;
};

// EOF on the report pipe after the child's time stamp means exec succeeded (the stamp gives its
// moment, in `exec_ns`); a failure record says which step failed, and the child (already
// exiting) is reaped.
std::optional<StartError> wait_for_exec(pid_t pid, UniqueFd& report_r, const ChildPlan& plan,
                                        std::optional<std::int64_t>& exec_ns) {
  ChildFailure failure;
  bool failed = false;
  for (;;) {
    ChildFailure message;
    std::size_t got = 0;
    while (got < sizeof message) {
      ssize_t n =
          ::read(report_r.get(), reinterpret_cast<char*>(&message) + got, sizeof message - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    if (got != sizeof message) break;
    if (message.stage == ChildFailure::kAboutToExec) {
      exec_ns = message.exec_ns;
    } else {
      failure = message;
      failed = true;
    }
  }
  report_r.reset();
  if (!failed) return std::nullopt;
  rusage usage{};
  reap(pid, usage);
  std::string what;
  switch (failure.stage) {
    case ChildFailure::kStdio:
      what = "cannot set up stdio for '" + plan.program + "'";
      break;
    case ChildFailure::kCgroup:
      what = "cannot move '" + plan.program + "' into " +
             plan.cgroup_procs.at(static_cast<std::size_t>(failure.limit_index));
      break;
    case ChildFailure::kChdir:
      what = "cannot change to the folder '" + plan.cwd + "' to run '" + plan.program + "'";
      break;
    case ChildFailure::kLimit: {
      const auto& limit = plan.limits.at(static_cast<std::size_t>(failure.limit_index));
      what = std::string("cannot apply ") + limit.name + "=" +
             std::to_string(limit.value.rlim_cur) + " to '" + plan.program + "'";
      break;
    }
    default:
      what = "cannot execute '" + plan.program + "'";
  }
  return StartError{failure.err, what + ": " + error_text(failure.err)};
}

// Reads the output until the child exits; on the time limit or a cancel, SIGTERM to its group
// and, after the grace, SIGKILL.
void supervise(pid_t pid, const RunRequest& request, Clock::time_point start, ChildPipes& p,
               RunResult& result) {
  for (StreamPipe* pipe : {&p.out, &p.err}) ::fcntl(pipe->fd.get(), F_SETFL, O_NONBLOCK);
  if (request.answer) p.err.answer = &request.answer;
  // pidfd_open (Linux 5.3) makes the exit pollable next to the pipes; without it the exit is
  // checked on a shorter tick.
  UniqueFd pidfd;
#ifdef SYS_pidfd_open
  pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0u)));
#endif
  const std::chrono::milliseconds tick = pidfd.valid() ? kTick : kTickNoPidfd;
  const Clock::time_point deadline = start + std::min(request.timeout, kNever);
  std::optional<Clock::time_point> kill_at;  // set when SIGTERM went out
  while (!has_exited(pid)) {
    const auto now = Clock::now();
    if (p.err.answered && !result.ended_at_answer && !kill_at) {
      // The answer is in (a complete report): nothing the rest of the run does can change it.
      signal_group(pid, SIGKILL);
      result.ended_at_answer = true;
    }
    if (!kill_at && !result.ended_at_answer) {
      const bool cancel_now = request.cancel != nullptr && request.cancel->load();
      if (cancel_now || now >= deadline) {
        (cancel_now ? result.cancelled : result.timed_out) = true;
        signal_group(pid, SIGTERM);
        signal_group(pid, SIGCONT);  // a stopped process would hold SIGTERM pending forever
        kill_at = now + std::min(request.kill_grace, kNever);
      }
    } else if (kill_at && !result.escalated_to_kill && now >= *kill_at) {
      signal_group(pid, SIGKILL);
      result.escalated_to_kill = true;
    }
    std::chrono::milliseconds wait = tick;
    if (!kill_at) wait = std::min(wait, until(now, deadline));
    if (kill_at && !result.escalated_to_kill) wait = std::min(wait, until(now, *kill_at));
    poll_once(p.out, p.err, pidfd, wait, p.buffer.get());
  }
}

// The child is a zombie, so its pid still names the group: what is left of the group (a
// grandchild holding the pipes open, say) is killed, and the pipes read until every writer is
// gone or the bound passes (a descendant that left the group may hold them forever). Then the
// child is reaped and its status, usage and output go into the result.
void drain_and_reap(pid_t pid, Clock::time_point start, ChildPipes& p, const RunCgroup& contain,
                    GroupWatcher& watcher, RunResult& result) {
  result.exit_seen_at = Clock::now() - (start + result.exec_at);
  // Still running although the run is over, and out of reach of a group kill.
  for (pid_t member : contain.members()) {
    const pid_t group = ::getpgid(member);  // -1: it is gone already
    if (member != pid && group >= 0 && group != pid) ++result.escaped_processes;
  }
  signal_group(pid, SIGKILL);
  contain.kill_all();
  watcher.finish();  // before the reap: the group id still names this run's group
  UniqueFd no_pidfd;
  const auto drain_until = Clock::now() + kDrainBound;
  while (p.out.fd.valid() || p.err.fd.valid()) {
    const auto now = Clock::now();
    if (now >= drain_until) break;
    poll_once(p.out, p.err, no_pidfd, until(now, drain_until), p.buffer.get());
  }
  p.out.fd.reset();
  p.err.fd.reset();
  rusage usage{};
  const int status = reap(pid, usage);
  result.duration = Clock::now() - start;
  if (status >= 0) {
    if (WIFEXITED(status)) {
      result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      result.signal = WTERMSIG(status);
      result.core_dumped = WCOREDUMP(status);
    }
    result.max_rss_bytes = static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;  // KiB on Linux
  }
  result.out = std::move(p.out.capture).finish();
  result.err = std::move(p.err.capture).finish();
  result.out.arrivals = std::move(p.out.arrivals);
  result.err.arrivals = std::move(p.err.arrivals);
}

}  // namespace

const ThreadLimitSupport& thread_limit_support() {
  static const ThreadLimitSupport support = probe_thread_limit_support();
  return support;
}

const ContainmentSupport& containment_support() {
  static const ContainmentSupport support = probe_containment_support();
  return support;
}

RunResult run_process(const RunRequest& request) {
  const auto start = Clock::now();
  RunResult result;
  result.started_at = start;
  auto failed = [&](StartError e) { return not_started(result, e.err, e.message, start); };
  if (request.argv.empty()) return failed({EINVAL, "empty command"});
  if (request.cancel != nullptr && request.cancel->load()) {
    result.cancelled = true;
    return failed({ECANCELED, "cancelled before it started"});
  }
  ChildPlan plan;
  RunCgroups cgroups;  // declared before the fork: removed after the reap, on every path
  if (auto e = plan_child(request, plan, cgroups, result)) return failed(*e);
  ChildPipes pipes(request.output_cap_bytes);
  if (auto e = open_pipes(pipes, plan)) return failed(*e);
  const pid_t pid = fork_child(plan, result.started_in_cgroup);
  if (pid < 0) {
    const int err = errno;
    return failed({err, "fork: " + error_text(err)});
  }
  result.pid = pid;
  // Only the child holds the write ends now.
  pipes.dev_null.reset();
  pipes.out_w.reset();
  pipes.err_w.reset();
  pipes.report_w.reset();
  std::optional<std::int64_t> exec_ns;
  if (auto e = wait_for_exec(pid, pipes.report_r, plan, exec_ns)) return failed(*e);
  result.started = true;
  const auto seen = Clock::now();
  // The child's own stamp, unless it makes no sense on this clock (then: when it was seen).
  const Clock::time_point stamped{std::chrono::nanoseconds(exec_ns.value_or(0))};
  result.exec_at = (exec_ns && stamped >= start && stamped <= seen ? stamped : seen) - start;
  pipes.out.exec_at = pipes.err.exec_at = start + result.exec_at;
  GroupWatcher watcher(pid, cgroups.contain);  // a driver that dies takes the run with it
  supervise(pid, request, start, pipes, result);
  drain_and_reap(pid, start, pipes, cgroups.contain, watcher, result);
  return result;
}

bool left_by_dead_driver(std::string_view name) {
  constexpr std::string_view kPrefix = "faultline-";
  if (!name.starts_with(kPrefix)) return false;
  name.remove_prefix(kPrefix.size());
  const std::size_t dash = name.find('-');
  const std::string_view digits = name.substr(0, dash);
  // A pid has at most 7 digits on Linux (pid_max is at most 2^22); more is someone else's name.
  if (dash == std::string_view::npos || digits.empty() || digits.size() > 9 ||
      digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return false;
  }
  const auto pid = static_cast<pid_t>(std::stol(std::string(digits)));
  return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH;
}

std::optional<std::chrono::nanoseconds> CapturedStream::arrival_of(std::uint64_t offset) const {
  for (const auto& a : arrivals) {
    if (a.bytes_so_far > offset) return a.since_exec;
  }
  return std::nullopt;
}

std::string signal_name(int signal) {
  struct Named {
    int number;
    const char* name;
  };
  static constexpr Named kNames[] = {
      {SIGHUP, "SIGHUP"},       {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"},   {SIGILL, "SIGILL"},
      {SIGTRAP, "SIGTRAP"},     {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},     {SIGFPE, "SIGFPE"},
      {SIGKILL, "SIGKILL"},     {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"},   {SIGUSR2, "SIGUSR2"},
      {SIGPIPE, "SIGPIPE"},     {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"},   {SIGCHLD, "SIGCHLD"},
      {SIGCONT, "SIGCONT"},     {SIGSTOP, "SIGSTOP"}, {SIGTSTP, "SIGTSTP"},   {SIGTTIN, "SIGTTIN"},
      {SIGTTOU, "SIGTTOU"},     {SIGURG, "SIGURG"},   {SIGXCPU, "SIGXCPU"},   {SIGXFSZ, "SIGXFSZ"},
      {SIGVTALRM, "SIGVTALRM"}, {SIGPROF, "SIGPROF"}, {SIGWINCH, "SIGWINCH"}, {SIGIO, "SIGIO"},
      {SIGPWR, "SIGPWR"},       {SIGSYS, "SIGSYS"},
#ifdef SIGSTKFLT
      {SIGSTKFLT, "SIGSTKFLT"},
#endif
  };
  for (const auto& n : kNames) {
    if (n.number == signal) return n.name;
  }
  // SIGRTMIN is a call in glibc (it reserves the first few for itself), hence no case label.
  if (signal >= SIGRTMIN && signal <= SIGRTMAX) {
    return signal == SIGRTMIN ? "SIGRTMIN" : "SIGRTMIN+" + std::to_string(signal - SIGRTMIN);
  }
  return "SIG" + std::to_string(signal);
}

}  // namespace faultline
