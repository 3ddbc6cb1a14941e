// Throughput of the raw epoll echo reactor on loopback: one client's request/reply rate, the
// rate of several pipelining clients, and connections accepted per second in a burst.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "servers/epoll/burst_client.h"
#include "servers/epoll/frame.h"
#include "servers/epoll/reactor.h"

namespace {
using namespace faultline::epoll;

struct Server {
  Server() {
    auto listener = Listener::open("127.0.0.1", 0, false);
    port = listener->port();
    reactor = std::make_unique<Reactor>(listener->fd());
    reactor->own(std::move(listener));
    reactor->start();
  }
  std::uint16_t port = 0;
  std::unique_ptr<Reactor> reactor;
};

int blocking_connect(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool write_all(int fd, const std::string& s) {
  for (std::size_t off = 0; off < s.size();) {
    const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

bool read_exact(int fd, std::string& buf, std::size_t n) {
  buf.resize(n);
  for (std::size_t off = 0; off < n;) {
    const ssize_t got = ::recv(fd, buf.data() + off, n - off, 0);
    if (got <= 0) return false;
    off += static_cast<std::size_t>(got);
  }
  return true;
}

// Requests per second from one client, one frame in flight (latency-bound).
void BM_EchoRoundTrip(benchmark::State& state) {
  Server server;
  const int fd = blocking_connect(server.port);
  std::string request;
  append_frame(request, std::string(static_cast<std::size_t>(state.range(0)), 'p'));
  const std::size_t reply_size = kPrefixBytes + kReplyPrefix.size() + request.size() - kPrefixBytes;
  std::string reply;
  for (auto _ : state) {
    if (!write_all(fd, request) || !read_exact(fd, reply, reply_size)) {
      state.SkipWithError("echo failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  ::close(fd);
}
BENCHMARK(BM_EchoRoundTrip)->Arg(64)->Arg(4096)->UseRealTime();

// Requests per second from `range(0)` connections, each with 16 frames pipelined per round.
void BM_EchoPipelined(benchmark::State& state) {
  Server server;
  const auto conns = static_cast<std::size_t>(state.range(0));
  constexpr int kDepth = 16;
  std::vector<int> fds;
  for (std::size_t i = 0; i < conns; ++i) fds.push_back(blocking_connect(server.port));
  std::string batch;
  for (int i = 0; i < kDepth; ++i) append_frame(batch, std::string(64, 'p'));
  const std::size_t reply_bytes = kDepth * (kPrefixBytes + kReplyPrefix.size() + 64);
  std::string reply;
  for (auto _ : state) {
    for (int fd : fds) write_all(fd, batch);
    for (int fd : fds) {
      if (!read_exact(fd, reply, reply_bytes)) state.SkipWithError("echo failed");
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(conns) * kDepth);
  for (int fd : fds) ::close(fd);
}
BENCHMARK(BM_EchoPipelined)->Arg(1)->Arg(16)->UseRealTime();

// Connections accepted (and served one frame each) per second, in bursts of range(0).
void BM_BurstAccept(benchmark::State& state) {
  Server server;
  BurstOptions o;
  o.port = server.port;
  o.bursts = 1;
  o.connections = static_cast<int>(state.range(0));
  o.frames = 1;
  o.max_frame_bytes = 64;
  o.threads = 2;
  o.gap_ms = 0;
  std::uint64_t ok = 0;
  for (auto _ : state) {
    const BurstResult r = run_bursts(o);
    ok += r.total.frames_ok;
    if (r.total.connects_ok != static_cast<std::uint64_t>(o.connections)) {
      state.SkipWithError("a connect failed");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(ok));
  state.counters["accepted"] = static_cast<double>(server.reactor->stats().accepted.load());
}
BENCHMARK(BM_BurstAccept)->Arg(64)->Arg(512)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
