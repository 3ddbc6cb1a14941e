// The program the syscall and clock fault tests run under `faultline exec`: it makes N calls of
// one libc function and prints what came back, so the test can hold the shim's counts against
// what the program itself saw.
//   syscall_child CALL N [exit1]  calls CALL N times; prints failed=F errno=NAME first=I last=I
//                              hash=H (H: of the indices, from 1, of the calls that failed) and
//                              seconds=S (the wall time the calls took, CLOCK_MONOTONIC_RAW);
//                              with exit1, exits 1 when a call failed (for shrink's test)
//   syscall_child CALL N [exit1] pace-us=U  the same, one call every U microseconds; prints
//                              first_ms= and last_ms= (when the first and last failed call was
//                              made, ms after main began; -1: none) for a plan's windows
//   syscall_child clock        prints wall=<time(NULL)> mono=<CLOCK_MONOTONIC seconds>
//   syscall_child clock-after S  the same after S seconds of real time (CLOCK_MONOTONIC_RAW)
//   syscall_child spin S       spins until CLOCK_MONOTONIC (faked or not) advanced S seconds
//   syscall_child beside N     a thread writes once (write call 1) while, 100 ms later, the main
//                              thread writes N times: prints slow_s= (the thread's write) and
//                              beside_s= (the N writes), to show a delayed call holds no other
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

double seconds(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void* nothing(void*) {
  return nullptr;
}

int g_devnull = -1;
double g_slow_s = 0;
void* write_once(void*) {
  const double t0 = seconds(CLOCK_MONOTONIC_RAW);
  (void)!::write(g_devnull, "x", 1);
  g_slow_s = seconds(CLOCK_MONOTONIC_RAW) - t0;
  return nullptr;
}

// One call of `call`; the errno it failed with, or 0.
int one(const std::string& call, int devnull) {
  errno = 0;
  if (call == "write") return ::write(devnull, "x", 1) < 0 ? errno : 0;
  if (call == "read") {
    char c;
    return ::read(devnull, &c, 1) < 0 ? errno : 0;
  }
  if (call == "close") return ::close(::dup(devnull)) < 0 ? errno : 0;
  if (call == "fsync") return ::fsync(devnull) < 0 ? errno : 0;
  if (call == "pthread_create") {
    pthread_t t;
    const int rc = ::pthread_create(&t, nullptr, nothing, nullptr);
    if (rc == 0) ::pthread_join(t, nullptr);
    return rc;
  }
  if (call == "malloc") {
    void* p = std::malloc(64);
    const int e = p ? 0 : errno;
    std::free(p);
    return e;
  }
  if (call == "connect") {  // to a port nothing listens on: ECONNREFUSED is the call's own answer
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(9);
    const int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    const int e = rc < 0 && errno != ECONNREFUSED ? errno : 0;
    ::close(fd);
    return e;
  }
  std::fprintf(stderr, "syscall_child: no call %s\n", call.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "clock") == 0) {
    std::printf("wall=%ld mono=%.3f\n", static_cast<long>(::time(nullptr)),
                seconds(CLOCK_MONOTONIC));
    return 0;
  }
  if (argc == 3 && std::strcmp(argv[1], "clock-after") == 0) {
    const double until = seconds(CLOCK_MONOTONIC_RAW) + std::atof(argv[2]);
    while (seconds(CLOCK_MONOTONIC_RAW) < until) {
    }
    std::printf("wall=%ld mono=%.3f\n", static_cast<long>(::time(nullptr)),
                seconds(CLOCK_MONOTONIC));
    return 0;
  }
  if (argc == 3 && std::strcmp(argv[1], "beside") == 0) {
    g_devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    pthread_t t;
    ::pthread_create(&t, nullptr, write_once, nullptr);
    ::usleep(100000);
    const double t0 = seconds(CLOCK_MONOTONIC_RAW);
    for (long i = 0; i < std::atol(argv[2]); ++i) (void)!::write(g_devnull, "x", 1);
    const double beside = seconds(CLOCK_MONOTONIC_RAW) - t0;
    ::pthread_join(t, nullptr);
    std::printf("slow_s=%.3f beside_s=%.3f\n", g_slow_s, beside);
    return 0;
  }
  if (argc == 3 && std::strcmp(argv[1], "spin") == 0) {
    const double until = seconds(CLOCK_MONOTONIC) + std::atof(argv[2]);
    while (seconds(CLOCK_MONOTONIC) < until) {
    }
    return 0;
  }
  bool exit1 = false, paced = false, usage = argc < 3;
  long pace_us = 0;
  for (int i = 3; i < argc; ++i) {
    if (std::strcmp(argv[i], "exit1") == 0) {
      exit1 = true;
    } else if (std::strncmp(argv[i], "pace-us=", 8) == 0) {
      paced = true, pace_us = std::atol(argv[i] + 8);
    } else {
      usage = true;
    }
  }
  if (usage) {
    std::fprintf(stderr,
                 "usage: syscall_child CALL N [exit1] [pace-us=U] | clock | clock-after S | "
                 "spin S | beside N\n");
    return 2;
  }
  const std::string call = argv[1];
  const long n = std::atol(argv[2]);
  const int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  long failed = 0, first = 0, last = 0;
  int seen = 0;
  std::uint64_t hash = 1469598103934665603ull;  // FNV-1a of the failing indices
  const double t0 = seconds(CLOCK_MONOTONIC_RAW);
  double first_ms = -1, last_ms = -1;
  for (long i = 1; i <= n; ++i) {
    if (pace_us > 0) {
      while (seconds(CLOCK_MONOTONIC_RAW) < t0 + static_cast<double>(pace_us * (i - 1)) / 1e6) {
        ::usleep(100);
      }
    }
    const double at_ms = (seconds(CLOCK_MONOTONIC_RAW) - t0) * 1000;
    if (const int e = one(call, devnull); e != 0) {
      ++failed, seen = e, last = i, last_ms = at_ms;
      if (first == 0) first = i, first_ms = at_ms;
      hash = (hash ^ static_cast<std::uint64_t>(i)) * 1099511628211ull;
    }
  }
  const double took = seconds(CLOCK_MONOTONIC_RAW) - t0;
  std::printf("failed=%ld errno=%s first=%ld last=%ld hash=%016llx seconds=%.4f\n", failed,
              seen ? strerrorname_np(seen) : "none", first, last,
              static_cast<unsigned long long>(hash), took);
  if (paced) std::printf("first_ms=%.1f last_ms=%.1f\n", first_ms, last_ms);
  return exit1 && failed > 0 ? 1 : 0;
}
