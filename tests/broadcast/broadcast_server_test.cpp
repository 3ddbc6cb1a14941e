// The broadcast server's Handle against a client that never reads: with a rendezvous completion
// channel the late worker stays blocked (one thread more); with a buffer and a deadline-bounded
// push it ends.
#include "servers/broadcast/broadcast_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "harness/probe/thread_sampler.h"

namespace faultline::broadcast {
namespace {
using namespace std::chrono_literals;

int connect_client(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

int threads_after(std::chrono::milliseconds settle) {
  std::this_thread::sleep_for(settle);
  return count_threads();
}

TEST(BroadcastServer, CompletesWhenEveryClientReads) {
  BroadcastOptions o;
  o.push_bytes = 100;
  o.deadline = 2000ms;
  BroadcastServer server(o);
  server.start();
  const int fd = connect_client(server.tcp_port());
  ASSERT_TRUE(server.wait_for_clients(1, 2000ms));
  EXPECT_TRUE(server.handle("hello"));
  timeval two_seconds{2, 0};  // bounds the blocking read below
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &two_seconds, sizeof two_seconds);
  char buf[104];
  EXPECT_EQ(::recv(fd, buf, sizeof buf, MSG_WAITALL), 104);
  EXPECT_EQ(std::string_view(buf + 4, 5), "hello");
  server.stop();
  ::close(fd);
}

// One timed-out broadcast against a client that never reads, in the given configuration; returns
// the thread count change once the worker had time to finish.
int leaked_threads(std::size_t capacity, bool stop_at_deadline) {
  BroadcastOptions o;
  o.push_bytes = 1 << 20;  // far more than the socket buffers hold
  o.deadline = 100ms;
  o.completion_capacity = capacity;
  o.worker_stops_at_deadline = stop_at_deadline;
  o.client_send_buffer = 4096;
  auto server = std::make_unique<BroadcastServer>(o);
  server->start();
  const int fd = connect_client(server->tcp_port());
  EXPECT_TRUE(server->wait_for_clients(1, 2000ms));
  const int before = count_threads();
  EXPECT_FALSE(server->handle("never read"));
  EXPECT_EQ(server->stats().timed_out.load(), 1u);
  server->stop();  // cuts the push short: a worker still pushing leaves run() now
  server.reset();
  ::close(fd);
  // The server's own accept and UDP threads are gone too; count them back in.
  return threads_after(200ms) + 2 - before;
}

TEST(BroadcastServer, RendezvousCompletionLeaksTheLateWorker) {
  EXPECT_EQ(leaked_threads(0, false), 1);
}

TEST(BroadcastServer, BufferedCompletionAndDeadlineLeaveNoThread) {
  EXPECT_EQ(leaked_threads(1, true), 0);
}

TEST(BroadcastServer, BufferedCompletionAloneAlsoLetsTheWorkerEnd) {
  EXPECT_EQ(leaked_threads(1, false), 0);
}

}  // namespace
}  // namespace faultline::broadcast
