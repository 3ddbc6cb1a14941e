#include "servers/broadcast/users.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>

#include "harness/probe/resource_tally.h"

namespace faultline::broadcast {
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::vector<bool> choose_slow(int count, int slow, std::uint64_t seed) {
  std::vector<bool> chosen(static_cast<std::size_t>(count), false);
  std::fill_n(chosen.begin(), std::min(count, slow), true);
  std::mt19937_64 rng(seed);
  std::shuffle(chosen.begin(), chosen.end(), rng);
  return chosen;
}

Users::Users(std::uint16_t port, const std::vector<bool>& slow, int rcvbuf, std::size_t slow_bytes,
             milliseconds slow_interval)
    : slow_(slow), slow_bytes_(slow_bytes), slow_interval_(slow_interval) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (std::size_t i = 0; i < slow_.size(); ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      // Out of fds (--max-fds): the run's symptom; open no more.
      faultline::resource_tally().note_fd(errno, "socket (broadcast-leak user)");
      break;
    }
    if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      continue;
    }
    fds_.push_back(fd);
  }
  thread_ = std::thread([this] { loop(); });
}

Users::~Users() {
  stop_.store(true);
  thread_.join();
  for (int fd : fds_) ::close(fd);
}

void Users::loop() {
  std::vector<Clock::time_point> next(fds_.size(), Clock::now());
  std::vector<char> buf(64 * 1024);
  while (!stop_.load()) {
    const auto now = Clock::now();
    for (std::size_t i = 0; i < fds_.size(); ++i) {
      const bool slow = slow_[i];
      if (slow && now < next[i]) continue;
      const std::size_t want = slow ? std::min(slow_bytes_, buf.size()) : buf.size();
      // Fast users drain what is there (bounded per turn); slow ones take one bite.
      for (int turn = 0; turn < (slow ? 1 : 16); ++turn) {
        const ssize_t n = ::recv(fds_[i], buf.data(), want, MSG_DONTWAIT);
        if (n <= 0) break;
        bytes_.fetch_add(static_cast<std::uint64_t>(n));
      }
      if (slow) next[i] = now + slow_interval_;
    }
    std::this_thread::sleep_for(milliseconds(1));
  }
}

}  // namespace faultline::broadcast
