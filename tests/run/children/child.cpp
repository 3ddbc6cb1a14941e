// A child for the runner tests: one program, the first argument picks what it does. Anything
// printed before a crash goes through write(2), so it is in the pipe before the signal lands.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace {

void put(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) std::_Exit(90);
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

void say(std::string_view line) {
  put(1, std::string(line) + "\n");
}

char* volatile g_sink = nullptr;

[[noreturn]] void hang() {
  for (;;) ::pause();
}

std::uint64_t arg_u64(int argc, char** argv, int i) {
  if (i >= argc) std::_Exit(91);
  return std::strtoull(argv[i], nullptr, 10);
}

// Byte i of a flood; the tests compute the same function to check the head and the tail.
char pattern_byte(std::uint64_t i) {
  return i % 64 == 63 ? '\n' : static_cast<char>('a' + i % 26);
}

// Writes out_bytes of the pattern to stdout and err_bytes to stderr, interleaved, in chunks of
// an odd size so the runner's reads land at every offset of its ring.
int flood(std::uint64_t out_bytes, std::uint64_t err_bytes) {
  constexpr std::size_t kChunk = 100'003;
  std::string chunk;
  std::uint64_t done[2] = {0, 0};
  const std::uint64_t want[2] = {out_bytes, err_bytes};
  while (done[0] < want[0] || done[1] < want[1]) {
    for (int s = 0; s < 2; ++s) {
      std::uint64_t n = std::min<std::uint64_t>(kChunk, want[s] - done[s]);
      chunk.resize(n);
      for (std::uint64_t i = 0; i < n; ++i) chunk[i] = pattern_byte(done[s] + i);
      put(s + 1, chunk);
      done[s] += n;
    }
  }
  return 0;
}

std::string limit_text(int resource) {
  rlimit value{};
  if (::getrlimit(resource, &value) != 0) return "error";
  return value.rlim_cur == RLIM_INFINITY ? "unlimited" : std::to_string(value.rlim_cur);
}

}  // namespace

// A descendant that leaves the process group the runner made, by `setsid`, `setpgid` or a
// `daemon` double fork (the middle process exits, so the escaped one is an orphan), then sleeps
// with its output on /dev/null. Printed once it has escaped: its pid and its group.
int escape(int argc, char** argv) {
  if (argc < 3) return 91;
  const std::string_view how = argv[2];
  int ready[2];
  if (::pipe(ready) != 0) return 94;
  auto escape_and_hang = [&] {
    if (how == "setpgid" ? ::setpgid(0, 0) != 0 : ::setsid() < 0) ::_exit(95);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    const pid_t self = ::getpid();
    if (::write(ready[1], &self, sizeof self) != sizeof self) ::_exit(96);
    ::close(ready[1]);
    hang();
  };
  const pid_t first = ::fork();
  if (first < 0) return 94;
  if (first == 0) {
    ::close(ready[0]);
    if (how != "daemon") escape_and_hang();
    const pid_t second = ::fork();
    if (second == 0) escape_and_hang();
    ::_exit(second < 0 ? 94 : 0);
  }
  ::close(ready[1]);
  pid_t escaped = -1;
  if (::read(ready[0], &escaped, sizeof escaped) != sizeof escaped) return 97;
  if (how == "daemon") ::waitpid(first, nullptr, 0);
  say("GRANDCHILD " + std::to_string(escaped));
  say("GROUP " + std::to_string(::getpgid(escaped)));
  return 0;
}

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "ok";
  if (mode == "ok") {
    say("DONE");
    return 0;
  }
  if (mode == "exit") return static_cast<int>(arg_u64(argc, argv, 2));
  if (mode == "both") {
    put(1, "to-out\n");
    put(2, "to-err\n");
    return 0;
  }
  if (mode == "segv") {
    say("before-crash");
    // A real invalid access (not raise): a page with no access rights.
    void* page = ::mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *static_cast<volatile int*>(page) = 1;
    return 92;
  }
  if (mode == "abort") std::abort();
  if (mode == "bus") {
    ::raise(SIGBUS);
    return 93;
  }
  if (mode == "hang") {
    say("READY");
    hang();
  }
  if (mode == "pidfile") {
    // Written to a temporary name and renamed, so a reader never sees half a pid.
    const std::string path = argc > 2 ? argv[2] : "";
    const std::string temporary = path + ".tmp";
    int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return 96;
    put(fd, std::to_string(::getpid()) + "\n");
    ::close(fd);
    if (::rename(temporary.c_str(), path.c_str()) != 0) return 97;
    hang();
  }
  if (mode == "ignore-term") {
    ::signal(SIGTERM, SIG_IGN);
    say("READY");
    hang();
  }
  if (mode == "stop") {
    say("STOPPING");
    ::raise(SIGSTOP);
    hang();
  }
  if (mode == "flood") return flood(arg_u64(argc, argv, 2), arg_u64(argc, argv, 3));
  if (mode == "grandchild") {
    // The grandchild inherits stdout and stderr and keeps them open while it sleeps.
    pid_t pid = ::fork();
    if (pid < 0) return 94;
    if (pid == 0) hang();
    say("GRANDCHILD " + std::to_string(pid));
    if (argc > 2 && std::string_view(argv[2]) == "hang") hang();
    return 0;
  }
  if (mode == "escape") return escape(argc, argv);
  if (mode == "grandchild-term") {
    // The grandchild says so when SIGTERM reaches it; the child ignores SIGTERM, so the run
    // ends only when the runner escalates to SIGKILL.
    struct sigaction on_term {};
    on_term.sa_handler = [](int) {
      constexpr char kLine[] = "TERM-REACHED-GRANDCHILD\n";
      ssize_t ignored = ::write(1, kLine, sizeof kLine - 1);
      (void)ignored;
      ::_exit(0);
    };
    ::sigaction(SIGTERM, &on_term, nullptr);
    pid_t pid = ::fork();
    if (pid < 0) return 94;
    if (pid == 0) hang();
    ::signal(SIGTERM, SIG_IGN);
    say("GRANDCHILD " + std::to_string(pid));
    hang();
  }
  if (mode == "alloc") {
    say("RLIMIT_AS=" + limit_text(RLIMIT_AS));
    try {
      auto* block = new char[arg_u64(argc, argv, 2)];
      std::memset(block, 1, arg_u64(argc, argv, 2));
      g_sink = block;  // escapes, so the compiler cannot elide the allocation
      say("allocated");
      delete[] block;
      return 0;
    } catch (const std::bad_alloc&) {
      say("bad_alloc");
      return 4;
    }
  }
  if (mode == "fds") {
    int first = -1;
    int opened = 0;
    for (;;) {
      int fd = ::open("/dev/null", O_RDONLY);
      if (fd < 0) {
        say("FIRST_FD " + std::to_string(first));
        say("OPENED " + std::to_string(opened));
        say(errno == EMFILE ? "ERRNO EMFILE" : "ERRNO " + std::to_string(errno));
        return 0;
      }
      if (first < 0) first = fd;
      if (++opened > 100'000) return 95;
    }
  }
  if (mode == "limits") {
    say("RLIMIT_AS=" + limit_text(RLIMIT_AS));
    say("RLIMIT_NOFILE=" + limit_text(RLIMIT_NOFILE));
    say("RLIMIT_NPROC=" + limit_text(RLIMIT_NPROC));
    say("RLIMIT_CORE=" + limit_text(RLIMIT_CORE));
    return 0;
  }
  if (mode == "cgroup") {  // the cgroup2 line of /proc/self/cgroup ("0::/path")
    std::ifstream in("/proc/self/cgroup");
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with("0::")) say("CGROUP " + line.substr(3));
    }
    return 0;
  }
  if (mode == "env") {
    // NAME=value (how many entries of environ define NAME)
    for (int i = 2; i < argc; ++i) {
      const std::string prefix = std::string(argv[i]) + "=";
      int count = 0;
      for (char** e = environ; *e != nullptr; ++e)
        count += std::string_view(*e).starts_with(prefix);
      const char* value = std::getenv(argv[i]);
      say(std::string(argv[i]) + (value ? "=" + std::string(value) : " unset") + " (" +
          std::to_string(count) + ")");
    }
    return 0;
  }
  if (mode == "stdin") {
    char c;
    ssize_t n = ::read(0, &c, 1);
    say(n == 0 ? "STDIN-EOF" : n > 0 ? "STDIN-DATA" : "STDIN-ERROR");
    return 0;
  }
  if (mode == "signals") {
    sigset_t mask;
    ::sigprocmask(SIG_SETMASK, nullptr, &mask);
    int blocked = 0;
    for (int sig = 1; sig < NSIG; ++sig) blocked += sigismember(&mask, sig) == 1;
    struct sigaction pipe_action {};
    ::sigaction(SIGPIPE, nullptr, &pipe_action);
    say("BLOCKED " + std::to_string(blocked));
    say(pipe_action.sa_handler == SIG_DFL ? "SIGPIPE default" : "SIGPIPE not default");
    return 0;
  }
  if (mode == "close-stdio") {
    ::close(1);
    ::close(2);
    ::usleep(static_cast<useconds_t>(arg_u64(argc, argv, 2) * 1000));
    return static_cast<int>(arg_u64(argc, argv, 3));
  }
  if (mode == "rss") {
    const std::uint64_t bytes = arg_u64(argc, argv, 2);
    std::vector<char> block(bytes, 1);
    g_sink = block.data();
    say("TOUCHED " + std::to_string(static_cast<unsigned>(block[bytes / 2])));
    return 0;
  }
  put(2, "unknown mode " + mode + "\n");
  return 2;
}
