// The broadcast server's users (seed 004): long TCP connections to the server, all driven by one
// thread that reads what the server pushes. Fast users drain their socket every turn; slow ones
// take one small bite per interval, so with small receive buffers a push to them waits for room
// and a broadcast can outlast the handler's deadline.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace faultline::broadcast {

// `slow` of `count` users read slowly; which ones is drawn from `seed` (a shuffle).
std::vector<bool> choose_slow(int count, int slow, std::uint64_t seed);

class Users {
 public:
  // Connects slow.size() users to 127.0.0.1:port (SO_RCVBUF `rcvbuf` when above 0) and starts
  // the reading thread. A user that cannot connect is skipped; out of fds, no more are opened.
  Users(std::uint16_t port, const std::vector<bool>& slow, int rcvbuf, std::size_t slow_bytes,
        std::chrono::milliseconds slow_interval);
  ~Users();  // stops the thread, closes the connections
  Users(const Users&) = delete;
  Users& operator=(const Users&) = delete;

  int connected() const { return static_cast<int>(fds_.size()); }
  std::uint64_t bytes() const { return bytes_.load(); }  // read by every user so far

 private:
  void loop();

  std::vector<bool> slow_;
  std::size_t slow_bytes_;
  std::chrono::milliseconds slow_interval_;
  std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> bytes_{0};
  std::thread thread_;
};

}  // namespace faultline::broadcast
