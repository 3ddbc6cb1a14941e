#include "servers/epoll/listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace faultline::epoll {
namespace {
[[noreturn]] void fail(int fd, const char* what) {
  const int err = errno;
  if (fd >= 0) ::close(fd);
  throw std::system_error(err, std::generic_category(), what);
}
}  // namespace

std::unique_ptr<Listener> Listener::open(const std::string& host, std::uint16_t port,
                                         bool reuse_port, int backlog) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    throw std::system_error(EINVAL, std::generic_category(), "bad IPv4 address '" + host + "'");
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(-1, "socket");
  int one = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) fail(fd, "SO_REUSEADDR");
  if (reuse_port && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    fail(fd, "SO_REUSEPORT");
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail(fd, "bind");
  if (::listen(fd, backlog) != 0) fail(fd, "listen");
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) fail(fd, "getsockname");
  return std::unique_ptr<Listener>(new Listener(fd, ntohs(addr.sin_port)));
}

Listener::~Listener() {
  ::close(fd_);
}

}  // namespace faultline::epoll
