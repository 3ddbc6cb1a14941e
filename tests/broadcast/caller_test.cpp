// The broadcast caller binds loopback: while it waits for an answer, its socket's local address
// in /proc/net/udp is 127.0.0.1, not 0.0.0.0 (what an unbound socket gets at its first sendto).
#include "servers/broadcast/caller.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace faultline::broadcast {
namespace {
using namespace std::chrono_literals;

// The local address column ("0100007F" for 127.0.0.1) of the UDP socket bound to `port`.
std::string local_address_of_udp_port(std::uint16_t port) {
  std::ifstream in("/proc/net/udp");
  std::string line;
  const std::string suffix = fmt::format(":{:04X}", port);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local;
    fields >> slot >> local;
    if (local.size() > suffix.size() && local.ends_with(suffix)) {
      return local.substr(0, local.size() - suffix.size());
    }
  }
  return "";
}

TEST(BroadcastCaller, BindsLoopbackOnly) {
  const int server = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(server, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(server, reinterpret_cast<sockaddr*>(&addr), &len), 0);

  Replies replies;
  std::thread caller([&] { replies = call_broadcasts({ntohs(addr.sin_port), 1, 5000ms, 0ms}); });
  char buf[64];
  sockaddr_in from{};
  socklen_t from_len = sizeof from;
  ASSERT_GT(::recvfrom(server, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len),
            0);
  const std::string local = local_address_of_udp_port(ntohs(from.sin_port));
  ::sendto(server, "ok", 2, 0, reinterpret_cast<sockaddr*>(&from), from_len);
  caller.join();
  ::close(server);
  EXPECT_EQ(local, "0100007F") << "the caller's socket is bound to " << local;
  EXPECT_EQ(replies.ok, 1u);
}

TEST(BroadcastCaller, OpenLoopbackUdpNamesLoopback) {
  const int fd = open_loopback_udp();
  ASSERT_GE(fd, 0);
  sockaddr_in self{};
  socklen_t len = sizeof self;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&self), &len), 0);
  EXPECT_EQ(ntohl(self.sin_addr.s_addr), INADDR_LOOPBACK);
  EXPECT_NE(self.sin_port, 0);
  ::close(fd);
}

}  // namespace
}  // namespace faultline::broadcast
