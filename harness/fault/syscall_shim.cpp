// libfaultline_syscall.so: syscall faults for a dynamically linked child, preloaded by the driver
// (LD_PRELOAD) for `--fault syscall:...` (docs/faults.md, "Syscall faults"). It interposes the
// libc functions below, and on the calls its specs choose it fails with an errno, delays, or
// both, before (or instead of) calling the next definition (the sanitizer's interceptor, then
// libc's).
//
// The driver has checked every spec and hands them over digested, so this library parses
// nothing but numbers and links nothing of faultline:
//   FAULTLINE_SYSCALL_FAULTS  "call,errno,p,delay_us,first,last,step,from_us,until_us;..."
//                             (last 0, until_us 0: no end)
//   FAULTLINE_SYSCALL_COUNTS  a file of 16-byte slots, one per spec: calls seen, faults injected;
//                             mapped shared, so the counts survive a child that crashes and are
//                             shared by every process of the run (its children inherit both)
//   FAULTLINE_SEED            the run's seed
// Call n of a spec's function (counted from 1 over the whole run) is chosen when n is in
// first..last with (n - first) % step == 0 and a draw from (seed, spec, n) is below p
// (syscall_rules.h, shared with the seccomp launcher): the same seed makes the same choices for
// the same call numbers, whichever thread makes them. A spec with a window (from_us, until_us: a
// fault plan's phase) chooses only calls made in it, timed from the start of the run's first
// process with the shim (FAULTLINE_SYSCALL_T0, which that process sets for the processes it
// starts).
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "harness/fault/syscall_rules.h"

namespace {

using namespace faultline::fault::rules;  // Call, Rule, Slot, parse_rules, chosen

constexpr int kMaxSpecs = kMaxRules;
Rule g_specs[kMaxSpecs];
int g_spec_count = 0;
Slot* g_slots = nullptr;  // the shared counts file, or nullptr
std::uint64_t g_seed = 0;
// Which spec (index + 1) each call has; 0: none, the fast path.
int g_spec_of[kCallCount] = {};
std::atomic<bool> g_ready{false};
std::uint64_t g_t0_us = 0;      // the run's start on CLOCK_MONOTONIC_RAW, for windows
Slot g_local_slots[kMaxSpecs];  // when no counts file was given

void parse_specs(const char* text) {
  g_spec_count = parse_rules(text, g_specs);
  for (int i = g_spec_count - 1; i >= 0; --i) g_spec_of[g_specs[i].call] = i + 1;
}

void map_counts(const char* path) {
  if (!path || !*path) return;
  const int fd = ::open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return;
  void* p = ::mmap(nullptr, sizeof(Slot) * kMaxSpecs, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p != MAP_FAILED) g_slots = static_cast<Slot*>(p);
}

// Microseconds on CLOCK_MONOTONIC_RAW by the system call itself: libfaketime, preloaded after
// this library for a clock fault, fakes clock_gettime, and a window is in real time.
std::uint64_t now_us() {
  timespec ts{};
  ::syscall(SYS_clock_gettime, CLOCK_MONOTONIC_RAW, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

// The run's start: inherited from the process that started this one, or now (and passed on).
void set_t0() {
  if (const char* t0 = std::getenv("FAULTLINE_SYSCALL_T0"); t0 && *t0) {
    g_t0_us = std::strtoull(t0, nullptr, 10);
    return;
  }
  g_t0_us = now_us();
  char text[32];
  std::snprintf(text, sizeof text, "%llu", static_cast<unsigned long long>(g_t0_us));
  ::setenv("FAULTLINE_SYSCALL_T0", text, 1);  // in a constructor: no other thread runs yet
}

__attribute__((constructor)) void init() {
  set_t0();
  parse_specs(std::getenv("FAULTLINE_SYSCALL_FAULTS"));
  map_counts(std::getenv("FAULTLINE_SYSCALL_COUNTS"));
  if (const char* seed = std::getenv("FAULTLINE_SEED")) g_seed = std::strtoull(seed, nullptr, 10);
  g_ready.store(true, std::memory_order_release);
}

// What to do to this call of `call`: the spec that chose it, or nullptr to pass it through.
const Rule* choose(Call call) {
  const int which = g_spec_of[call];
  if (which == 0 || !g_ready.load(std::memory_order_acquire)) return nullptr;
  const Rule& s = g_specs[which - 1];
  Slot& slot = (g_slots ? g_slots : g_local_slots)[which - 1];
  const std::uint64_t n = slot.calls.fetch_add(1, std::memory_order_relaxed) + 1;
  if (!chosen(s, which, n, g_seed, [] { return now_us() - g_t0_us; })) return nullptr;
  slot.injected.fetch_add(1, std::memory_order_relaxed);
  if (s.delay_us > 0) {
    timespec ts{static_cast<time_t>(s.delay_us / 1000000),
                static_cast<long>(s.delay_us % 1000000) * 1000};
    while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
  return &s;
}

template <class Fn>
Fn next(const char* name) {
  return reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, name));
}

}  // namespace

// Each wrapper: a fault with an errno fails the call without making it (close and fsync
// excepted: see there); a delay alone delays it, then makes it.
#define FAULTLINE_WRAP(ret, name, call, params, args)             \
  extern "C" ret name params {                                    \
    static const auto real = next<ret(*) params>(#name);          \
    if (const Rule* s = choose(call); s != nullptr && s->error) { \
      errno = s->error;                                           \
      return -1;                                                  \
    }                                                             \
    return real args;                                             \
  }

FAULTLINE_WRAP(int, accept, kAccept, (int fd, sockaddr* a, socklen_t* l), (fd, a, l))
FAULTLINE_WRAP(int, accept4, kAccept4, (int fd, sockaddr* a, socklen_t* l, int f), (fd, a, l, f))
FAULTLINE_WRAP(int, connect, kConnect, (int fd, const sockaddr* a, socklen_t l), (fd, a, l))
FAULTLINE_WRAP(ssize_t, read, kRead, (int fd, void* b, size_t n), (fd, b, n))
FAULTLINE_WRAP(ssize_t, write, kWrite, (int fd, const void* b, size_t n), (fd, b, n))
FAULTLINE_WRAP(ssize_t, send, kSend, (int fd, const void* b, size_t n, int f), (fd, b, n, f))
FAULTLINE_WRAP(ssize_t, recv, kRecv, (int fd, void* b, size_t n, int f), (fd, b, n, f))
FAULTLINE_WRAP(ssize_t, sendto, kSendto,
               (int fd, const void* b, size_t n, int f, const sockaddr* a, socklen_t l),
               (fd, b, n, f, a, l))
FAULTLINE_WRAP(ssize_t, recvfrom, kRecvfrom,
               (int fd, void* b, size_t n, int f, sockaddr* a, socklen_t* l), (fd, b, n, f, a, l))
FAULTLINE_WRAP(int, epoll_wait, kEpollWait, (int fd, epoll_event* e, int m, int t), (fd, e, m, t))
#undef FAULTLINE_WRAP

// Linux releases the descriptor even when close reports an error (EINTR, EIO): so does this.
extern "C" int close(int fd) {
  static const auto real = next<int (*)(int)>("close");
  const Rule* s = choose(kClose);
  const int rc = real(fd);
  if (s != nullptr && s->error) {
    errno = s->error;
    return -1;
  }
  return rc;
}

// A failed fsync has not synced: the data may be lost, which is what the fault is for.
extern "C" int fsync(int fd) {
  static const auto real = next<int (*)(int)>("fsync");
  if (const Rule* s = choose(kFsync); s != nullptr && s->error) {
    errno = s->error;
    return -1;
  }
  return real(fd);
}

// pthread_create reports its error as the return value, not in errno.
extern "C" int pthread_create(pthread_t* t, const pthread_attr_t* a, void* (*fn)(void*),
                              void* arg) {
  static const auto real =
      next<int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*)>("pthread_create");
  if (const Rule* s = choose(kPthreadCreate); s != nullptr && s->error) return s->error;
  return real(t, a, fn, arg);
}

#ifdef FAULTLINE_SHIM_MALLOC
// Only in libfaultline_syscall_malloc.so, which the driver preloads for a malloc fault alone:
// malloc goes to glibc's own allocator (__libc_malloc) without a dlsym, which would itself
// allocate. A sanitizer replaces malloc with its own allocator, whose memory libc's must never
// get: the driver refuses malloc faults in those builds, and a program with an allocator of its
// own (jemalloc, tcmalloc) bypasses this one.
extern "C" void* __libc_malloc(size_t size);
extern "C" void* malloc(size_t size) {
  if (const Rule* s = choose(kMalloc); s != nullptr && s->error) {
    errno = s->error;
    return nullptr;
  }
  return __libc_malloc(size);
}
#endif  // FAULTLINE_SHIM_MALLOC
