// The burst client's counters against servers that refuse, reset, stall, corrupt and echo.
#include "servers/epoll/burst_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "servers/epoll/frame.h"
#include "servers/epoll/reactor.h"
#include "test_util.h"

namespace faultline::epoll {
namespace {
using namespace std::chrono_literals;

BurstOptions small(std::uint16_t port) {
  BurstOptions o;
  o.port = port;
  o.bursts = 2;
  o.connections = 8;
  o.frames = 3;
  o.threads = 2;
  o.gap_ms = 0;
  o.connect_timeout_ms = 300;
  o.io_timeout_ms = 300;
  return o;
}

// A blocking server on its own thread that handles each accepted connection with `serve`.
class ToyServer {
 public:
  template <class Serve>
  explicit ToyServer(Serve serve, int backlog = 64, bool accept = true)
      : listener_(Listener::open("127.0.0.1", 0, false, backlog)) {
    if (!accept) return;
    thread_ = std::thread([this, serve] {
      while (!stop_.load()) {
        pollfd p{listener_->fd(), POLLIN, 0};
        if (::poll(&p, 1, 10) <= 0) continue;
        const int fd = ::accept4(listener_->fd(), nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) serve(fd);
      }
    });
  }
  ~ToyServer() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  std::uint16_t port() const { return listener_->port(); }

 private:
  std::unique_ptr<Listener> listener_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Serves one connection: reads `frames` frames and answers each with `reply(i, payload)` framed
// as the reactor frames its echo.
template <class Reply>
void answer_frames(int fd, int frames, Reply reply) {
  for (int i = 0; i < frames; ++i) {
    const std::string head = test::recv_n(fd, kPrefixBytes);
    if (head.size() < kPrefixBytes) break;
    std::string out;
    append_reply(out, reply(i, test::recv_n(fd, read_prefix(head.data()))));
    test::send_all(fd, out);
  }
  ::close(fd);
}

TEST(BurstClient, CountsEveryConnectToAPortWithoutListenerAsRefused) {
  const BurstResult r = run_bursts(small(test::free_port()));
  EXPECT_EQ(r.total.refused, 16u);
  EXPECT_EQ(r.total.connects_ok, 0u);
  EXPECT_EQ(r.total.frames_ok + r.total.frames_lost + r.total.frames_corrupt, 0u);
  ASSERT_EQ(r.per_burst.size(), 2u);
  EXPECT_EQ(r.per_burst[1].refused, 8u);
}

TEST(BurstClient, CountsEveryFrameEchoedByTheReactor) {
  auto listener = Listener::open("127.0.0.1", 0, false);
  BurstOptions o = small(listener->port());
  Reactor reactor(listener->fd());
  reactor.own(std::move(listener));
  reactor.start();
  int bursts_seen = 0;
  o.after_burst = [&](int b) { bursts_seen = b + 1; };
  const BurstResult r = run_bursts(o);
  EXPECT_EQ(r.total.connects_ok, 16u);
  EXPECT_EQ(r.total.frames_ok, 48u);
  EXPECT_EQ(r.total.frames_lost + r.total.frames_corrupt + r.total.refused, 0u);
  EXPECT_EQ(r.latency.count(), 48u);
  EXPECT_EQ(bursts_seen, 2);
  EXPECT_EQ(reactor.stats().frames_echoed.load(), 48u);
}

TEST(BurstClient, CountsResetsAndTheirFramesAsLost) {
  ToyServer server([](int fd) {
    linger hard{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    ::close(fd);  // RST to a connection the kernel already completed
  });
  BurstOptions o = small(server.port());
  o.bursts = 1;
  const BurstResult r = run_bursts(o);
  // The RST may land before the client's connect is reported done (then the connect itself is
  // the reset, and no frame was attempted) or during the exchange (its 3 frames are lost).
  EXPECT_EQ(r.total.reset, 8u);
  EXPECT_EQ(r.total.refused + r.total.timed_out + r.total.other_errors, 0u);
  EXPECT_EQ(r.total.frames_lost, 3 * r.total.connects_ok);
  EXPECT_EQ(r.total.frames_ok, 0u);
}

TEST(BurstClient, CountsRepliesThatAreNotTheEchoAsCorrupt) {
  ToyServer server([](int fd) {
    // Answers each frame with a reply of the right length but one changed byte.
    answer_frames(fd, 3, [](int, std::string payload) {
      payload[0] = static_cast<char>(payload[0] ^ 1);
      return payload;
    });
  });
  BurstOptions o = small(server.port());
  o.bursts = 1;
  o.connections = 1;  // the toy server serves one connection at a time
  const BurstResult r = run_bursts(o);
  EXPECT_EQ(r.total.frames_corrupt, 3u);
  EXPECT_EQ(r.total.frames_ok, 0u);
}

// Open loop (docs/latency.md): a server that stalls 100 ms before its first echo holds back
// the next rounds, which were due every 10 ms. Timed from their send, those rounds look fast;
// timed from when they were due, each shows the part of the stall it waited through.
TEST(BurstClient, OpenLoopTimesEachFrameFromWhenItsRoundWasDue) {
  ToyServer server([](int fd) {
    answer_frames(fd, 5, [](int i, std::string payload) {
      if (i == 0) std::this_thread::sleep_for(100ms);  // the stall
      return payload;
    });
  });
  BurstOptions o = small(server.port());
  o.bursts = 1;
  o.connections = 1;
  o.threads = 1;
  o.frames = 5;
  o.rate = 100;  // a round every 10 ms
  const BurstResult r = run_bursts(o);
  ASSERT_EQ(r.total.frames_ok, 5u);
  ASSERT_EQ(r.latency_corrected.count(), 5u);
  // Rounds 1-4 were due at 10-40 ms and left at about 100 ms: late, and the tally says so
  // (round 0 too, if the machine held the thread back by more than 1 ms).
  EXPECT_GE(r.send_lag.late, 4u);
  EXPECT_GE(r.send_lag.max, 50ms);
  // From when they were due: 100, 90, 80, 70, 60 ms. From their send: one 100 ms, four fast.
  EXPECT_GE(r.latency_corrected.percentile(50), 70'000'000u);
  EXPECT_GE(r.latency_corrected.min(), 50'000'000u);
  EXPECT_LT(r.latency.percentile(50), 50'000'000u);
}

// Without a stall the open loop keeps its schedule: 5 rounds at 50/s take at least 80 ms.
TEST(BurstClient, OpenLoopKeepsTheRateOfEachConnection) {
  auto listener = Listener::open("127.0.0.1", 0, false);
  BurstOptions o = small(listener->port());
  Reactor reactor(listener->fd());
  reactor.own(std::move(listener));
  reactor.start();
  o.bursts = 1;
  o.frames = 5;
  o.rate = 50;
  const auto start = std::chrono::steady_clock::now();
  const BurstResult r = run_bursts(o);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 80ms);
  EXPECT_EQ(r.total.frames_ok, 40u);
  EXPECT_EQ(r.latency_corrected.count(), 40u);
  // Each frame's due time is at or before its send: corrected is never the smaller.
  EXPECT_GE(r.latency_corrected.sum(), r.latency.sum());
  EXPECT_GE(r.latency_corrected.min(), r.latency.min());
  EXPECT_EQ(BurstOptions{}.rate, std::nullopt) << "closed loop unless a rate is given";
}

TEST(BurstClient, CountsConnectsThatNeverCompleteAsTimedOut) {
  // A listener that never accepts, with the smallest backlog: once its queue is full the kernel
  // drops further SYNs and those connects can only time out.
  ToyServer server([](int) {}, /*backlog=*/0, /*accept=*/false);
  BurstOptions o = small(server.port());
  o.bursts = 1;
  o.connections = 6;
  o.frames = 1;
  o.io_timeout_ms = 100;
  const BurstResult r = run_bursts(o);
  EXPECT_GE(r.total.timed_out, 1u);
  EXPECT_EQ(r.total.connects_ok + r.total.timed_out, 6u);
  EXPECT_EQ(r.total.frames_ok, 0u);
}

}  // namespace
}  // namespace faultline::epoll
