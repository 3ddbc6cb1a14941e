// faultline-seccomp-launch: syscall faults for a statically linked program (a Go binary), which
// no LD_PRELOAD reaches (docs/faults.md, "Static programs (Go): the seccomp launcher").
//
//   faultline-seccomp-launch [--] PROGRAM [ARGS...]
//
// It reads the same environment as libfaultline_syscall.so (FAULTLINE_SYSCALL_FAULTS,
// FAULTLINE_SYSCALL_COUNTS, FAULTLINE_SEED; syscall_rules.h) and forks. The child sets
// no_new_privs and installs a seccomp filter that hands the chosen system calls (and only those)
// to this process as user notifications, passes the notification fd here over a socketpair,
// then execs PROGRAM. This process is the supervisor: for each notification it counts the call
// in the counts file, draws as the shim draws, and answers with the errno or lets the call
// continue, after the delay if the spec has one. It exits as PROGRAM exited (or dies of its
// signal), so the driver sees what it would have seen without it.
//
// Threads: a receiver blocks in SECCOMP_IOCTL_NOTIF_RECV and answers every call at once unless
// it is delayed; delayed answers go to a timer queue that the main thread serves between
// signals. A delay never holds the receiver, so other threads' calls are answered while one
// waits (the receiver must block: RECV ignores O_NONBLOCK, and a notification whose caller was
// interrupted can vanish between poll and RECV).
//
// Lifetimes: the target dies with this process (PR_SET_PDEATHSIG SIGKILL: without its supervisor
// its chosen calls would fail with ENOSYS), and this process with the driver (PDEATHSIG too).
// SIGTERM, SIGINT, SIGHUP and SIGQUIT are passed on to the target, never acted on here.
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

#include "harness/fault/syscall_rules.h"

#if !defined(__x86_64__)
#error "faultline-seccomp-launch filters x86_64 system call numbers only"
#endif

namespace {

using namespace faultline::fault::rules;

constexpr const char* kSelf = "faultline-seccomp-launch";

[[noreturn]] void die(int code, const char* what, int error) {
  std::fprintf(stderr, "%s: %s%s%s\n", kSelf, what, error ? ": " : "",
               error ? std::strerror(error) : "");
  std::_Exit(code);
}

std::uint64_t now_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

// What the supervisor knows: the rules, which rule each system call number has, the counts.
struct Rules {
  Rule rule[kMaxRules];
  int count = 0;
  std::vector<std::pair<long, int>> rule_of;  // system call number -> rule index + 1
  Slot* slots = nullptr;
  Slot local[kMaxRules];  // when no counts file was given
  std::uint64_t seed = 0;
  std::uint64_t t0_us = 0;  // the run's start, for windows
};

// The rules from the environment; a spec no system call filter can carry is one line, exit 2
// (the driver refuses these before a run: this is for a launcher started by hand).
void load_rules(Rules& r) {
  r.count = parse_rules(std::getenv("FAULTLINE_SYSCALL_FAULTS"), r.rule);
  for (int i = 0; i < r.count; ++i) {
    long nrs[3];
    const int n = system_calls(r.rule[i].call, nrs);
    if (n == 0) {
      std::fprintf(stderr,
                   "%s: call=%s is a library call, not a system call: a seccomp filter cannot "
                   "see it; fault it in a dynamically linked build through LD_PRELOAD\n",
                   kSelf, kCallNames[r.rule[i].call]);
      std::_Exit(2);
    }
    if (r.rule[i].call == kClose && r.rule[i].error != 0) {
      std::fprintf(stderr,
                   "%s: call=close with an errno cannot be faulted here: a notified close is "
                   "either made or failed, never both; give close a delay-us alone\n",
                   kSelf);
      std::_Exit(2);
    }
    for (int k = 0; k < n; ++k) {
      const bool taken = std::any_of(r.rule_of.begin(), r.rule_of.end(),
                                     [&](const auto& e) { return e.first == nrs[k]; });
      if (!taken) r.rule_of.emplace_back(nrs[k], i + 1);
    }
  }
  if (const char* path = std::getenv("FAULTLINE_SYSCALL_COUNTS"); path && *path) {
    const int fd = ::open(path, O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
      void* p =
          ::mmap(nullptr, sizeof(Slot) * kMaxRules, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      ::close(fd);
      if (p != MAP_FAILED) r.slots = static_cast<Slot*>(p);
    }
  }
  if (const char* seed = std::getenv("FAULTLINE_SEED")) r.seed = std::strtoull(seed, nullptr, 10);
  const char* t0 = std::getenv("FAULTLINE_SYSCALL_T0");
  r.t0_us = t0 && *t0 ? std::strtoull(t0, nullptr, 10) : now_us();
}

// The filter: on x86_64, the rules' system calls go to the supervisor, everything else runs.
// A system call of another ABI (a 32-bit int 0x80, x32) has other numbers: it runs, unfaulted.
std::vector<sock_filter> filter_of(const Rules& r) {
  std::vector<sock_filter> f;
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
  const std::size_t n = r.rule_of.size();
  for (std::size_t i = 0; i < n; ++i) {  // a match jumps over the other tests and the ALLOW
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<std::uint32_t>(r.rule_of[i].first),
                         static_cast<std::uint8_t>(n - i), 0));
  }
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));
  return f;
}

// What the child tells the supervisor on the socketpair: the step that failed (0: the filter is
// in, and the message carries its fd) and its errno.
struct Hello {
  int step = 0;
  int error = 0;
};
enum Step { kInstalled = 0, kNoNewPrivs, kSeccomp, kExec };

void tell(int sock, Hello hello, int fd) {
  iovec iov{&hello, sizeof hello};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  while (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

// Nothing but the child's own system calls from here to execve: once the filter is in, each
// chosen one would go to the supervisor (sendmsg is never a chosen call; the fds are
// close-on-exec, so the child closes nothing itself).
[[noreturn]] void run_child(const Rules& r, int sock, const sigset_t& mask, char** argv) {
  ::sigprocmask(SIG_SETMASK, &mask, nullptr);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    tell(sock, {kNoNewPrivs, errno}, -1);
    std::_Exit(126);
  }
  std::vector<sock_filter> code = filter_of(r);
  sock_fprog prog{static_cast<unsigned short>(code.size()), code.data()};
  // WAIT_KILLABLE_RECV (Linux 5.19): once the supervisor has a call, a signal (Go's SIGURG
  // preemption) no longer interrupts and restarts it, which would count it twice.
  long listener =
      ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog);
  if (listener < 0 && errno == EINVAL) {
    listener =
        ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  }
  if (listener < 0) {
    tell(sock, {kSeccomp, errno}, -1);
    std::_Exit(126);
  }
  tell(sock, {kInstalled, 0}, static_cast<int>(listener));
  ::execvp(argv[0], argv);
  tell(sock, {kExec, errno}, -1);
  std::_Exit(errno == ENOENT ? 127 : 126);
}

// The child's first message: the listener fd, or the step that failed (one line, its exit).
int receive_listener(int sock) {
  Hello hello;
  iovec iov{&hello, sizeof hello};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t got;
  while ((got = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  if (got != static_cast<ssize_t>(sizeof hello)) die(126, "the child ended before its filter", 0);
  if (hello.step == kNoNewPrivs) die(126, "prctl(PR_SET_NO_NEW_PRIVS)", hello.error);
  if (hello.step == kSeccomp) {
    die(126,
        "cannot install the seccomp filter (SECCOMP_FILTER_FLAG_NEW_LISTENER needs Linux 5.0 "
        "and seccomp allowed in this container)",
        hello.error);
  }
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) die(126, "the child sent no notification fd", 0);
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

void answer(int listener, std::uint64_t id, int error) {
  seccomp_notif_resp resp{};
  resp.id = id;
  if (error != 0) {
    resp.error = -error;
  } else {
    resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;  // made as the program asked: nothing to race
  }
  // ENOENT: the caller is gone (killed) or its call was interrupted before it was received.
  (void)::ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

// Answers that wait for their delay, earliest first; the main thread serves them.
struct Delayed {
  std::uint64_t due_us, id;
  int error;
  bool operator>(const Delayed& o) const { return due_us > o.due_us; }
};
struct TimerQueue {
  std::mutex mu;
  std::priority_queue<Delayed, std::vector<Delayed>, std::greater<>> q;
  int wake = -1;  // eventfd: a new answer may be due sooner than the main thread waits
};

// The receiver: one notification at a time, decided as the shim decides (syscall_rules.h).
void receive(Rules& r, int listener, TimerQueue& timers) {
  for (;;) {
    seccomp_notif req;
    std::memset(&req, 0, sizeof req);  // RECV wants it zeroed
    if (::ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) {
      if (errno == EINTR || errno == ENOENT) continue;
      return;  // the filter has no process left
    }
    int which = 0;
    for (const auto& [nr, rule] : r.rule_of) {
      if (nr == req.data.nr) which = rule;
    }
    if (which == 0 || req.data.arch != AUDIT_ARCH_X86_64) {
      answer(listener, req.id, 0);
      continue;
    }
    const Rule& rule = r.rule[which - 1];
    Slot& slot = (r.slots ? r.slots : r.local)[which - 1];
    const std::uint64_t n = slot.calls.fetch_add(1, std::memory_order_relaxed) + 1;
    if (!chosen(rule, which, n, r.seed, [&] { return now_us() - r.t0_us; })) {
      answer(listener, req.id, 0);
      continue;
    }
    slot.injected.fetch_add(1, std::memory_order_relaxed);
    if (rule.delay_us == 0) {
      answer(listener, req.id, rule.error);
      continue;
    }
    {
      std::lock_guard lock(timers.mu);
      timers.q.push({now_us() + rule.delay_us, req.id, rule.error});
    }
    const std::uint64_t one = 1;
    (void)!::write(timers.wake, &one, sizeof one);
  }
}

// Answers the delayed calls that are due; the milliseconds until the next one (-1: none).
int answer_due(int listener, TimerQueue& timers) {
  std::lock_guard lock(timers.mu);
  while (!timers.q.empty()) {
    const std::uint64_t now = now_us();
    const Delayed d = timers.q.top();
    if (d.due_us > now) return static_cast<int>((d.due_us - now + 999) / 1000);
    timers.q.pop();
    answer(listener, d.id, d.error);
  }
  return -1;
}

// Exits as the target did: its code, or its signal raised here (without a core of this process,
// which would overwrite the target's own core file).
[[noreturn]] void exit_as(int status) {
  if (WIFEXITED(status)) std::_Exit(WEXITSTATUS(status));
  const int sig = WTERMSIG(status);
  rlimit none{0, 0};
  ::setrlimit(RLIMIT_CORE, &none);
  ::signal(sig, SIG_DFL);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, sig);
  ::pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
  ::kill(::getpid(), sig);
  std::_Exit(128 + sig);
}

// The main thread: forwards signals, serves the timer queue, reports an exec that failed, and
// ends with the target.
[[noreturn]] void supervise(pid_t target, int listener, int sock, int signals, TimerQueue& timers,
                            const char* program) {
  for (;;) {
    const int timeout = answer_due(listener, timers);
    pollfd fds[3] = {{signals, POLLIN, 0}, {timers.wake, POLLIN, 0}, {sock, POLLIN, 0}};
    if (::poll(fds, sock >= 0 ? 3 : 2, timeout) < 0 && errno != EINTR) die(126, "poll", errno);
    if (fds[1].revents & POLLIN) {
      std::uint64_t count;
      (void)!::read(timers.wake, &count, sizeof count);
    }
    if (sock >= 0 && fds[2].revents) {  // a message: exec failed; EOF: exec succeeded
      Hello hello;
      if (::recv(sock, &hello, sizeof hello, 0) == static_cast<ssize_t>(sizeof hello)) {
        std::fprintf(stderr, "%s: cannot run %s: %s\n", kSelf, program, std::strerror(hello.error));
      }
      ::close(sock);
      sock = -1;
    }
    if (!(fds[0].revents & POLLIN)) continue;
    signalfd_siginfo info;
    while (::read(signals, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      if (info.ssi_signo != SIGCHLD) {
        ::kill(target, static_cast<int>(info.ssi_signo));
        continue;
      }
      int status = 0;
      if (::waitpid(target, &status, WNOHANG) == target) exit_as(status);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int first = 1;
  if (first < argc && std::strcmp(argv[first], "--") == 0) ++first;
  if (first >= argc) {
    std::fprintf(stderr,
                 "usage: %s [--] PROGRAM [ARGS...]: give the program to run (faultline exec "
                 "starts this for a statically linked one)\n",
                 kSelf);
    return 2;
  }
  static Rules rules;
  load_rules(rules);
  if (rules.count == 0) {  // no syscall fault (shrink took them away): the program alone
    ::execvp(argv[first], argv + first);
    die(errno == ENOENT ? 127 : 126, argv[first], errno);
  }
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  sigset_t forwarded, old;
  sigemptyset(&forwarded);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT}) sigaddset(&forwarded, s);
  ::sigprocmask(SIG_BLOCK, &forwarded, &old);  // before the fork: none is lost, none acted on
  const int signals = ::signalfd(-1, &forwarded, SFD_CLOEXEC | SFD_NONBLOCK);
  int pair[2];
  if (signals < 0 || ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    die(126, "signalfd or socketpair", errno);
  }
  const pid_t target = ::fork();
  if (target < 0) die(126, "fork", errno);
  if (target == 0) run_child(rules, pair[1], old, argv + first);
  ::close(pair[1]);
  const int listener = receive_listener(pair[0]);
  static TimerQueue timers;
  timers.wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (timers.wake < 0) die(126, "eventfd", errno);
  // The receiver's signals stay blocked (it inherits the mask): only the main thread takes them.
  std::thread(receive, std::ref(rules), listener, std::ref(timers)).detach();
  supervise(target, listener, pair[0], signals, timers, argv[first]);
}
