#include "servers/broadcast/caller.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <string_view>
#include <thread>

#include "harness/probe/resource_tally.h"

namespace faultline::broadcast {

faultline::Measures Replies::measures() const {
  return {{"replies_ok", ok}, {"replies_timeout", timeout}, {"replies_missing", missing}};
}

int open_loopback_udp() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in self{};
  self.sin_family = AF_INET;
  self.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // port 0: the kernel picks one
  if (::bind(fd, reinterpret_cast<sockaddr*>(&self), sizeof self) != 0) {
    const int err = errno;
    ::close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

Replies call_broadcasts(const CallerOptions& options) {
  // Bound before the first sendto, which would otherwise bind it to 0.0.0.0.
  const int udp = open_loopback_udp();
  if (udp < 0) faultline::resource_tally().note_fd(errno, "socket (broadcast-leak caller)");
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(options.port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  Replies replies;
  const int reply_wait_ms = static_cast<int>(options.reply_wait.count());
  for (int i = 0; i < options.requests && !faultline::resource_tally().exhausted(); ++i) {
    const std::string request = fmt::format("broadcast {} to all users", i + 1);
    ::sendto(udp, request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    pollfd pfd{udp, POLLIN, 0};
    char reply[16] = {};
    if (::poll(&pfd, 1, reply_wait_ms) > 0 && ::recv(udp, reply, sizeof reply - 1, 0) > 0) {
      (std::string_view(reply) == "ok" ? replies.ok : replies.timeout)++;
    } else {
      ++replies.missing;
    }
    std::this_thread::sleep_for(options.interval);
  }
  if (udp >= 0) ::close(udp);
  return replies;
}

}  // namespace faultline::broadcast
