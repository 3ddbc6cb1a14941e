#include "harness/nemesis/server_process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace faultline::nemesis {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::string_view kListening = "listening on 127.0.0.1:";

std::string errno_text() {
  return std::strerror(errno);
}

// Runs jobs on one long-lived thread, the parent of every child (see the header on
// PR_SET_PDEATHSIG). run() waits for the job and rethrows what it threw.
class Spawner {
 public:
  Spawner() : thread_([this] { loop(); }) {}
  ~Spawner() {
    {
      std::lock_guard lock(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void run(const std::function<void()>& fn) {
    std::packaged_task<void()> task(fn);
    auto result = task.get_future();
    {
      std::lock_guard lock(mu_);
      job_ = &task;
    }
    cv_.notify_all();
    result.get();
  }

 private:
  void loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return quit_ || job_ != nullptr; });
      if (job_ != nullptr) {
        auto* job = job_;
        job_ = nullptr;
        lock.unlock();
        (*job)();
        lock.lock();
        continue;
      }
      if (quit_) return;
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::packaged_task<void()>* job_ = nullptr;
  bool quit_ = false;
  std::thread thread_;
};

}  // namespace

std::filesystem::path find_server_binary(std::string_view name) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error(fmt::format("cannot read /proc/self/exe: {}", ec.message()));
  auto build = self.parent_path().parent_path();
  auto path = build / "servers" / std::string(name);
  if (::access(path.c_str(), X_OK) != 0) {
    throw std::runtime_error(fmt::format(
        "the standalone server {} is missing ({}): build it with `cmake --build {} --target {}`",
        name, path.string(), build.string(), name));
  }
  return path;
}

struct ServerProcess::Impl {
  std::filesystem::path binary;
  std::vector<std::string> args;
  std::chrono::milliseconds start_timeout;

  mutable std::mutex mu;
  State state = State::kDown;
  pid_t pid = -1;
  int out_fd = -1;  // read end of the child's stdout
  std::uint16_t port = 0;
  Clock::time_point paused_at;
  Clock::duration paused_total{};
  std::string output;
  std::vector<ServerProcess::Outage> outages;
  Spawner spawner;  // last: its thread ends before the rest is destroyed

  // Forks and execs with stdout on a pipe; returns the read end. Runs on the spawner thread.
  void spawn(std::uint16_t with_port);
  // Reads stdout until the "listening on" line; returns the port, or the failure's text.
  std::optional<std::uint16_t> await_listening(std::string& failure);
  // Drains what the child printed (non-blocking) and closes the pipe.
  void drain_output();
  // Blocks until the child is reaped; returns its wait status.
  int reap();
  // Waits for the child to report a stop (WUNTRACED) or a continue (WCONTINUED). False if it
  // died instead: it is then reaped and the state is kDown.
  bool wait_for(int option) {
    for (;;) {
      int status = 0;
      pid_t r = ::waitpid(pid, &status, option);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return false;
      if (WIFSTOPPED(status) || WIFCONTINUED(status)) return true;
      // It exited or was killed: reaped by this very waitpid.
      note_resumed();
      note_down();
      pid = -1;
      state = State::kDown;
      drain_output();
      return false;
    }
  }
  // An outage begins when a live server dies, and ends when a start listens again.
  void note_down() { outages.push_back({Clock::now(), std::nullopt}); }
  void note_up() {
    if (!outages.empty() && !outages.back().to) outages.back().to = Clock::now();
  }
  void note_resumed() {
    if (state == State::kPaused) paused_total += Clock::now() - paused_at;
  }
  void start_locked(std::uint16_t with_port);
  bool kill_locked();
};

void ServerProcess::Impl::spawn(std::uint16_t with_port) {
  // Everything the child needs is built before fork(): the scenario is multi-threaded, so the
  // child may only call async-signal-safe functions until execv().
  std::vector<std::string> argv_text{binary.string()};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  argv_text.push_back("--port");
  argv_text.push_back(std::to_string(with_port));
  std::vector<char*> argv;
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  sigset_t none;
  sigemptyset(&none);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error(fmt::format("cannot create a pipe: {}", errno_text()));
  }
  const pid_t parent = ::getpid();
  pid_t child = ::fork();
  if (child < 0) {
    int e = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error(fmt::format("cannot fork {}: {}", binary.string(), std::strerror(e)));
  }
  if (child == 0) {
    // The server dies with its parent (this spawner thread), even while stopped.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (::dup2(fds[1], STDOUT_FILENO) < 0) ::_exit(127);  // dup2 clears FD_CLOEXEC on stdout
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  pid = child;
  out_fd = fds[0];
}

std::optional<std::uint16_t> ServerProcess::Impl::await_listening(std::string& failure) {
  std::string buffer;
  auto deadline = Clock::now() + start_timeout;
  for (;;) {
    for (auto nl = buffer.find('\n'); nl != std::string::npos; nl = buffer.find('\n')) {
      std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      auto at = line.find(kListening);
      if (at == std::string::npos) continue;
      std::string_view digits = std::string_view(line).substr(at + kListening.size());
      unsigned value = 0;
      auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (ec == std::errc() && value > 0 && value <= 65535) {
        output += buffer;  // anything printed right after the line
        return static_cast<std::uint16_t>(value);
      }
      failure = fmt::format("unreadable port in '{}'", line);
      return std::nullopt;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      failure = fmt::format("no 'listening on' line within {} ms", start_timeout.count());
      return std::nullopt;
    }
    pollfd p{out_fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      failure = fmt::format("poll: {}", errno_text());
      return std::nullopt;
    }
    if (r == 0) continue;
    char chunk[512];
    ssize_t n = ::read(out_fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      failure = "it exited before listening (its stderr says why)";
      return std::nullopt;
    }
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
}

void ServerProcess::Impl::drain_output() {
  if (out_fd < 0) return;
  // The child is gone: every byte it wrote is in the pipe, and read() ends at EOF.
  char chunk[4096];
  for (;;) {
    ssize_t n = ::read(out_fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(out_fd);
  out_fd = -1;
}

int ServerProcess::Impl::reap() {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      status = -1;
      break;
    }
  }
  pid = -1;
  state = State::kDown;
  drain_output();
  return status;
}

void ServerProcess::Impl::start_locked(std::uint16_t with_port) {
  spawner.run([&] { spawn(with_port); });
  std::string failure;
  auto got = await_listening(failure);
  if (!got) {
    ::kill(pid, SIGKILL);
    int status = reap();
    std::string how = WIFEXITED(status)     ? fmt::format("exit code {}", WEXITSTATUS(status))
                      : WIFSIGNALED(status) ? fmt::format("signal {}", WTERMSIG(status))
                                            : std::string("unknown status");
    throw std::runtime_error(fmt::format("{} --port {} did not start: {} ({})", binary.string(),
                                         with_port, failure, how));
  }
  port = *got;
  state = State::kRunning;
  note_up();
}

bool ServerProcess::Impl::kill_locked() {
  if (state == State::kDown) return false;
  note_resumed();
  note_down();
  ::kill(pid, SIGKILL);  // kills a stopped process too
  reap();
  return true;
}

ServerProcess::ServerProcess(std::filesystem::path binary, std::vector<std::string> args,
                             std::chrono::milliseconds start_timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->binary = std::move(binary);
  impl_->args = std::move(args);
  impl_->start_timeout = start_timeout;
}

ServerProcess::~ServerProcess() {
  stop();
}

void ServerProcess::start() {
  std::lock_guard lock(impl_->mu);
  if (impl_->state != State::kDown) throw std::logic_error("ServerProcess::start: already up");
  impl_->start_locked(impl_->port);
}

bool ServerProcess::pause() {
  std::lock_guard lock(impl_->mu);
  auto& s = *impl_;
  if (s.state != State::kRunning) return false;
  ::kill(s.pid, SIGSTOP);
  // SIGSTOP lands asynchronously: wait for the stop itself, so the server is stopped when
  // pause() returns (and the pause is timed from then).
  if (!s.wait_for(WUNTRACED)) return false;
  s.state = State::kPaused;
  s.paused_at = Clock::now();
  return true;
}

bool ServerProcess::resume() {
  std::lock_guard lock(impl_->mu);
  auto& s = *impl_;
  if (s.state != State::kPaused) return false;
  ::kill(s.pid, SIGCONT);
  s.note_resumed();
  s.state = State::kRunning;
  return s.wait_for(WCONTINUED);
}

bool ServerProcess::kill() {
  std::lock_guard lock(impl_->mu);
  return impl_->kill_locked();
}

void ServerProcess::restart() {
  std::lock_guard lock(impl_->mu);
  impl_->kill_locked();
  if (impl_->port == 0) throw std::logic_error("ServerProcess::restart before start");
  // The old listener closed when the killed server exited; SO_REUSEADDR lets the new one bind
  // over its TIME_WAIT connections. A client's ephemeral port can still hold the number for a
  // moment (the kernel picked the first port from the same range): retry briefly.
  auto give_up = Clock::now() + std::chrono::seconds(3);
  for (;;) {
    try {
      impl_->start_locked(impl_->port);
      return;
    } catch (const std::runtime_error&) {
      if (Clock::now() >= give_up) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

int ServerProcess::stop(std::chrono::milliseconds grace) {
  std::lock_guard lock(impl_->mu);
  auto& s = *impl_;
  if (s.state == State::kDown) return -1;
  if (s.state == State::kPaused) {
    // SIGTERM would stay pending on a stopped process: continue it first.
    ::kill(s.pid, SIGCONT);
    s.note_resumed();
    s.state = State::kRunning;
  }
  ::kill(s.pid, SIGTERM);
  auto deadline = Clock::now() + grace;
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(s.pid, &status, WNOHANG);
    if (r == s.pid) {
      s.pid = -1;
      s.state = State::kDown;
      s.drain_output();
      return status;
    }
    if (r < 0 && errno != EINTR) break;
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(s.pid, SIGKILL);
  return s.reap();
}

ServerProcess::State ServerProcess::state() const {
  std::lock_guard lock(impl_->mu);
  return impl_->state;
}

pid_t ServerProcess::pid() const {
  std::lock_guard lock(impl_->mu);
  return impl_->pid;
}

std::uint16_t ServerProcess::port() const {
  std::lock_guard lock(impl_->mu);
  return impl_->port;
}

double ServerProcess::paused_seconds() const {
  std::lock_guard lock(impl_->mu);
  auto total = impl_->paused_total;
  if (impl_->state == State::kPaused) total += Clock::now() - impl_->paused_at;
  return std::chrono::duration<double>(total).count();
}

std::vector<ServerProcess::Outage> ServerProcess::outages() const {
  std::lock_guard lock(impl_->mu);
  return impl_->outages;
}

std::string ServerProcess::output() const {
  std::lock_guard lock(impl_->mu);
  return impl_->output;
}

const std::filesystem::path& ServerProcess::binary() const {
  return impl_->binary;
}

}  // namespace faultline::nemesis
