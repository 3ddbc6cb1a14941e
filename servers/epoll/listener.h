// A listening TCP socket and its owner. The socket lives exactly as long as the Listener: the
// destructor closes it. Whoever holds the unique_ptr decides how long the port stays open; the
// raw number from fd() is only a name, valid while that owner lives (the incident of seed 002 is
// a reactor that kept the number and let the owner go).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace faultline::epoll {

class Listener {
 public:
  // Binds host:port (port 0: the kernel picks one) non-blocking, with SO_REUSEADDR, and with
  // SO_REUSEPORT when `reuse_port` (several reactors sharing one port). Throws std::system_error.
  static std::unique_ptr<Listener> open(const std::string& host, std::uint16_t port,
                                        bool reuse_port, int backlog = 4096);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  int fd() const { return fd_; }
  std::uint16_t port() const { return port_; }

 private:
  Listener(int fd, std::uint16_t port) : fd_(fd), port_(port) {}
  int fd_;
  std::uint16_t port_;
};

}  // namespace faultline::epoll
