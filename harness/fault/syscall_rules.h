// The decision both syscall fault mechanisms make, in one place: libfaultline_syscall.so (the
// LD_PRELOAD shim, syscall_shim.cpp) for dynamically linked programs and faultline-seccomp-launch
// (seccomp_launch.cpp) for statically linked ones (Go). Which call of a spec is chosen depends on
// the run's seed, the spec and the call's number only, so the same seed chooses the same call
// numbers under either mechanism, and in `replay`.
//
// Header only and free of the rest of faultline: the shim links nothing of it.
//   FAULTLINE_SYSCALL_FAULTS  "call,errno,p,delay_us,first,last,step,from_us,until_us;..."
//                             (last 0, until_us 0: no end), digested by child_faults.cpp
//   FAULTLINE_SYSCALL_COUNTS  a file of 16-byte slots (Slot), one per spec: calls seen, faults
//                             injected; mapped shared by every process of the run and read by
//                             the driver (read_syscall_counts)
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

#if defined(__x86_64__)
#include <sys/syscall.h>
#endif

namespace faultline::fault::rules {

// The calls a spec may name, in the order of child_faults.h's syscall_names().
enum Call {
  kAccept,
  kAccept4,
  kConnect,
  kRead,
  kWrite,
  kSend,
  kRecv,
  kSendto,
  kRecvfrom,
  kClose,
  kFsync,
  kEpollWait,
  kPthreadCreate,
  kMalloc,
  kCallCount
};
inline constexpr const char* kCallNames[kCallCount] = {
    "accept", "accept4",  "connect", "read",  "write",      "send",           "recv",
    "sendto", "recvfrom", "close",   "fsync", "epoll_wait", "pthread_create", "malloc"};

struct Rule {
  int call = -1;
  int error = 0;  // 0: delay only
  double p = 1;
  std::uint64_t delay_us = 0;
  std::uint64_t first = 1, last = 0, step = 1;  // last 0: no end
  std::uint64_t from_us = 0, until_us = 0;      // until_us 0: no end
};

// One slot of the counts file.
struct Slot {
  std::atomic<std::uint64_t> calls;
  std::atomic<std::uint64_t> injected;
};
static_assert(sizeof(Slot) == 16, "the counts file has 16-byte slots");

inline constexpr int kMaxRules = 16;

inline std::uint64_t mix64(std::uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

inline int call_named(const char* name, std::size_t len) {
  for (int c = 0; c < kCallCount; ++c) {
    if (std::strlen(kCallNames[c]) == len && std::strncmp(kCallNames[c], name, len) == 0) return c;
  }
  return -1;
}

// FAULTLINE_SYSCALL_FAULTS into `out` (at most kMaxRules); how many. The driver wrote the text
// after checking every spec: a malformed one ends the list (and then nothing more is injected).
inline int parse_rules(const char* text, Rule* out) {
  int count = 0;
  while (text && *text && count < kMaxRules) {
    const char* comma = std::strchr(text, ',');
    if (!comma) break;
    Rule r;
    r.call = call_named(text, static_cast<std::size_t>(comma - text));
    unsigned long long delay = 0, first = 1, last = 0, step = 1, from = 0, until = 0;
    if (r.call < 0 || std::sscanf(comma + 1, "%d,%lf,%llu,%llu,%llu,%llu,%llu,%llu", &r.error, &r.p,
                                  &delay, &first, &last, &step, &from, &until) != 8) {
      break;
    }
    r.delay_us = delay, r.first = first, r.last = last, r.step = step ? step : 1;
    r.from_us = from, r.until_us = until;
    out[count++] = r;
    text = std::strchr(comma, ';');
    if (text) ++text;
  }
  return count;
}

// Whether call `n` (counted from 1 over the whole run) of rule number `which` (its index + 1) is
// chosen: n in first..last with (n - first) % step == 0, made inside the rule's window
// (`elapsed_us()`, microseconds since the run's first process started, is asked only when the
// rule has one), and a draw from (seed, which, n) below p.
template <class Elapsed>
bool chosen(const Rule& r, int which, std::uint64_t n, std::uint64_t seed, Elapsed elapsed_us) {
  if (n < r.first || (r.last != 0 && n > r.last) || (n - r.first) % r.step != 0) return false;
  if (r.from_us != 0 || r.until_us != 0) {
    const std::uint64_t t = elapsed_us();
    if (t < r.from_us || (r.until_us != 0 && t >= r.until_us)) return false;
  }
  if (r.p < 1) {
    const std::uint64_t draw =
        mix64(seed * 0x9E3779B97F4A7C15ull + mix64(static_cast<std::uint64_t>(which)) + n);
    if (static_cast<double>(draw >> 11) * 0x1.0p-53 >= r.p) return false;
  }
  return true;
}

#if defined(__x86_64__)
// The x86_64 system calls a call name stands for under the seccomp launcher, into `out`; how many
// (0: a library call, pthread_create or malloc, which no system call filter sees). send and recv
// are sendto and recvfrom on x86_64 (glibc's send and Go's writes to a socket make those), and
// epoll_wait is each of its system calls (Go waits with epoll_pwait).
inline int system_calls(int call, long out[3]) {
  switch (call) {
    case kAccept:
      out[0] = __NR_accept;
      return 1;
    case kAccept4:
      out[0] = __NR_accept4;
      return 1;
    case kConnect:
      out[0] = __NR_connect;
      return 1;
    case kRead:
      out[0] = __NR_read;
      return 1;
    case kWrite:
      out[0] = __NR_write;
      return 1;
    case kSend:
    case kSendto:
      out[0] = __NR_sendto;
      return 1;
    case kRecv:
    case kRecvfrom:
      out[0] = __NR_recvfrom;
      return 1;
    case kClose:
      out[0] = __NR_close;
      return 1;
    case kFsync:
      out[0] = __NR_fsync;
      return 1;
    case kEpollWait:
      out[0] = __NR_epoll_wait, out[1] = __NR_epoll_pwait, out[2] = __NR_epoll_pwait2;
      return 3;
    default:
      return 0;
  }
}
#endif

}  // namespace faultline::fault::rules
