// Each TCP fault measured through the proxy against a real loopback echo server. The machine
// is small and loaded: latencies are medians over many round trips, lower bounds are tight
// (a fault must add at least what it says) and upper bounds loose.
#include <gtest/gtest.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "harness/fault/proxy.h"
#include "tests/fault/loopback.h"

namespace faultline::fault {
namespace {

using namespace test;

std::unique_ptr<Proxy> tcp_proxy(std::uint16_t upstream, std::vector<std::string> faults,
                                 std::uint64_t seed = 1) {
  ProxyOptions o;
  o.upstream_port = upstream;
  for (const auto& f : faults) o.faults.push_back(make_fault(f));
  o.seed = seed;
  return std::make_unique<Proxy>(std::move(o));
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

TEST(TcpProxy, ForwardsBothWaysWithoutFaults) {
  TcpEcho echo;
  auto proxy = tcp_proxy(echo.port(), {});
  int fd = dial(proxy->port());
  std::string msg(100'000, 'a');
  for (std::size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<char>('a' + i % 26);
  std::thread writer([&] { send_all(fd, msg.data(), msg.size()); });
  std::string back(msg.size(), '\0');
  EXPECT_TRUE(recv_all(fd, back.data(), back.size()));
  writer.join();
  EXPECT_EQ(back, msg);
  ::shutdown(fd, SHUT_WR);
  char c;
  EXPECT_EQ(::recv(fd, &c, 1, 0), 0);  // the server's close is passed on
  ::close(fd);
  auto s = proxy->stats();
  EXPECT_EQ(s.connections, 1u);
  EXPECT_EQ(s.bytes_up, msg.size());
  EXPECT_EQ(s.bytes_down, msg.size());
}

void expect_added_latency(const std::vector<std::string>& faults, double added_ms) {
  TcpEcho echo;
  auto proxy = tcp_proxy(echo.port(), faults);
  const double direct = median_rtt_us(echo.port(), 40);
  const double through = median_rtt_us(proxy->port(), 40);
  ASSERT_GT(direct, 0);
  ASSERT_GT(through, 0);
  const double added = (through - direct) / 1000.0;
  EXPECT_GE(added, added_ms * 0.97) << "direct " << direct << " us, through " << through << " us";
  EXPECT_LE(added, added_ms + 25.0) << "direct " << direct << " us, through " << through << " us";
}

TEST(TcpProxy, LatencyDownstreamByDefault) {
  expect_added_latency({"latency:ms=20"}, 20);
}
TEST(TcpProxy, LatencyUpstream) {
  expect_added_latency({"latency:ms=20,direction=up"}, 20);
}
TEST(TcpProxy, LatencyBothWays) {
  expect_added_latency({"latency:ms=15,direction=both"}, 30);
}

TEST(TcpProxy, LatencyJitterStaysWithinItsBand) {
  TcpEcho echo;
  auto proxy = tcp_proxy(echo.port(), {"latency:ms=20,jitter=10"});
  int fd = dial(proxy->port());
  char out[16] = "ping", in[16];
  std::vector<double> rtt;
  for (int i = 0; i < 40; ++i) {
    auto t0 = Clock::now();
    ASSERT_TRUE(send_all(fd, out, sizeof out) && recv_all(fd, in, sizeof in));
    rtt.push_back(ms_since(t0));
  }
  ::close(fd);
  std::sort(rtt.begin(), rtt.end());
  EXPECT_GE(rtt.front(), 10.0 * 0.97);       // never less than ms - jitter
  EXPECT_GT(rtt.back() - rtt.front(), 5.0);  // the jitter spreads them (uniform over 20 ms)
  EXPECT_GE(rtt[rtt.size() / 2], 15.0);
}

TEST(TcpProxy, BandwidthWithinTenPercent) {
  TcpEcho echo;
  const double rate_kbs = 1000;  // 1 MB/s
  auto proxy = tcp_proxy(echo.port(), {"bandwidth:rate=1000"});
  int fd = dial(proxy->port(), 10'000);
  const std::size_t total = 1'500'000;
  std::vector<char> data(total, 'b'), back(total);
  std::thread writer([&] { send_all(fd, data.data(), data.size()); });
  // Timed from the first byte that comes back, to the last.
  ASSERT_TRUE(recv_all(fd, back.data(), 1));
  auto t0 = Clock::now();
  ASSERT_TRUE(recv_all(fd, back.data() + 1, total - 1));
  const double seconds = ms_since(t0) / 1000.0;
  writer.join();
  ::close(fd);
  const double measured_kbs = static_cast<double>(total - 1) / seconds / 1000.0;
  EXPECT_GE(measured_kbs, rate_kbs * 0.9) << seconds << " s";
  EXPECT_LE(measured_kbs, rate_kbs * 1.1) << seconds << " s";
}

TEST(TcpProxy, ResetPeerGivesTheClientEconnreset) {
  TcpEcho echo;
  auto proxy = tcp_proxy(echo.port(), {"reset_peer:timeout=100"});
  int fd = dial(proxy->port());
  auto t0 = Clock::now();
  char buf[64];
  ASSERT_TRUE(send_all(fd, "hello", 5));
  ASSERT_TRUE(recv_all(fd, buf, 5));  // data passes until the reset
  errno = 0;
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  const int err = errno;
  const double elapsed = ms_since(t0);
  ::close(fd);
  EXPECT_EQ(n, -1);
  EXPECT_EQ(err, ECONNRESET) << std::strerror(err);
  EXPECT_GE(elapsed, 100.0 * 0.97);
  EXPECT_EQ(proxy->stats().resets, 1u);
}

TEST(TcpProxy, LimitDataClosesAfterNBytes) {
  TcpEcho echo;
  auto proxy = tcp_proxy(echo.port(), {"limit_data:bytes=1000"});
  int fd = dial(proxy->port());
  std::vector<char> data(5000, 'l');
  ASSERT_TRUE(send_all(fd, data.data(), data.size()));
  std::size_t got = 0;
  char buf[8192];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  EXPECT_EQ(got, 1000u);
  EXPECT_EQ(proxy->stats().limits, 1u);
  EXPECT_EQ(proxy->stats().bytes_down, 1000u);
}

TEST(TcpProxy, LimitDataWithLatencyStillCutsAtN) {
  TcpEcho echo;
  auto proxy = tcp_proxy(echo.port(), {"latency:ms=5", "limit_data:bytes=300"});
  int fd = dial(proxy->port());
  std::vector<char> data(2000, 'l');
  ASSERT_TRUE(send_all(fd, data.data(), data.size()));
  std::size_t got = 0;
  char buf[8192];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) got += static_cast<std::size_t>(n);
  ::close(fd);
  EXPECT_EQ(got, 300u);
}

TEST(TcpProxy, SlicerDeliversEveryByteInSmallSegments) {
  TcpEcho echo;
  auto proxy = tcp_proxy(echo.port(), {"slicer:average_size=10,size_variation=5,delay=50"});
  int fd = dial(proxy->port());
  std::string msg(3000, '\0');
  for (std::size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(send_all(fd, msg.data(), msg.size()));
  std::string back(msg.size(), '\0');
  std::size_t reads = 0, got = 0;
  while (got < back.size()) {
    ssize_t n = ::recv(fd, back.data() + got, back.size() - got, 0);
    ASSERT_GT(n, 0);
    got += static_cast<std::size_t>(n);
    ++reads;
  }
  ::close(fd);
  EXPECT_EQ(back, msg);
  // Every slice is 5..15 bytes: at least 3000/15 writes; the 50 us between them show up as
  // many separate reads on the client.
  EXPECT_GE(proxy->stats().slices, 200u);
  EXPECT_LE(proxy->stats().slices, 600u);
  EXPECT_GT(reads, 20u);
}

TEST(TcpProxy, TimeoutDropsDataThenCloses) {
  TcpEcho echo;
  auto proxy = tcp_proxy(echo.port(), {"timeout:ms=150"});
  int fd = dial(proxy->port());
  auto t0 = Clock::now();
  ASSERT_TRUE(send_all(fd, "data", 4));
  char buf[16];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  const double elapsed = ms_since(t0);
  ::close(fd);
  EXPECT_EQ(n, 0);  // no data, then the close
  EXPECT_GE(elapsed, 150.0 * 0.97);
  EXPECT_EQ(proxy->stats().timeouts, 1u);
  EXPECT_EQ(proxy->stats().bytes_dropped, 4u);
}

TEST(TcpProxy, TimeoutZeroStallsWithoutClosing) {
  TcpEcho echo;
  auto proxy = tcp_proxy(echo.port(), {"timeout:ms=0"});
  int fd = dial(proxy->port(), 300);
  ASSERT_TRUE(send_all(fd, "data", 4));
  char buf[16];
  errno = 0;
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  EXPECT_EQ(n, -1);  // the receive timed out: neither data nor a close
  EXPECT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK);
  ::close(fd);
}

TEST(TcpProxy, SlowCloseDelaysTheClose) {
  TcpEcho echo;
  auto proxy = tcp_proxy(echo.port(), {"slow_close:delay=200"});
  int fd = dial(proxy->port());
  ASSERT_TRUE(send_all(fd, "bye", 3));
  char buf[8];
  ASSERT_TRUE(recv_all(fd, buf, 3));
  auto t0 = Clock::now();
  ::shutdown(fd, SHUT_WR);  // the echo server closes its side at once
  EXPECT_EQ(::recv(fd, buf, sizeof buf, 0), 0);
  EXPECT_GE(ms_since(t0), 200.0 * 0.97);
  ::close(fd);
}

// Pings every 20 ms for `ms` through `faults`, each a 4-byte index; the time (ms after the
// proxy was made) each echo came back, by index (-1: never), and whether the connection stayed
// open (no close, no reset) to the end.
struct PingLog {
  std::vector<double> sent, back;
  bool stayed_open = true;
  double made_ms = 0;  // how long making the proxy took: its window may start that much later
};
PingLog ping_through(const std::vector<std::string>& faults, int count) {
  TcpEcho echo;
  const auto t0 = Clock::now();
  auto proxy = tcp_proxy(echo.port(), faults);
  PingLog log;
  log.made_ms = ms_since(t0);
  log.sent.assign(count, -1);
  log.back.assign(count, -1);
  int fd = dial(proxy->port(), 100);
  std::thread reader([&] {
    for (int got = 0; got < count;) {
      std::uint32_t i = 0;
      const ssize_t n = ::recv(fd, &i, sizeof i, MSG_WAITALL);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        log.stayed_open = false;
        return;
      }
      if (n < 0) {  // a receive timeout: stop once the last ping had 1.5 s to come back
        if (ms_since(t0) > 20.0 * count + 1500) return;
        continue;
      }
      if (n == sizeof i && i < static_cast<std::uint32_t>(count)) log.back[i] = ms_since(t0), ++got;
    }
  });
  for (std::uint32_t i = 0; i < static_cast<std::uint32_t>(count); ++i) {
    std::this_thread::sleep_until(t0 + std::chrono::milliseconds(20 * i));
    log.sent[i] = ms_since(t0);
    if (!send_all(fd, reinterpret_cast<const char*>(&i), sizeof i)) log.stayed_open = false;
  }
  reader.join();
  ::close(fd);
  return log;
}

// A held partition: nothing comes back inside the window [300, 700) ms, everything sent before
// it or in it comes back (in it: at the heal), and the connection never closes.
TEST(TcpProxy, PartitionHoldsEverythingForItsWindowThenDeliversIt) {
  const PingLog log = ping_through({"partition:at=300,ms=400"}, 50);
  ASSERT_TRUE(log.stayed_open);
  for (std::size_t i = 0; i < log.back.size(); ++i) {
    ASSERT_GE(log.back[i], 0) << "ping " << i << " sent at " << log.sent[i] << " ms was lost";
    EXPECT_FALSE(log.back[i] > 300 + log.made_ms + 10 && log.back[i] < 700 - 10)
        << "ping " << i << " came back at " << log.back[i] << " ms, inside the cut";
    if (log.sent[i] > 300 + log.made_ms + 5 && log.sent[i] < 690) {
      EXPECT_GE(log.back[i], 700 - 5) << "ping " << i << " sent in the cut came back before it";
    }
  }
}

// A drop partition: what was sent inside the window never comes back, what was sent before and
// after it does, and the connection stays open.
TEST(TcpProxy, PartitionDropLosesWhatItsWindowCarriedAndHeals) {
  const PingLog log = ping_through({"partition:at=300,ms=400,mode=drop"}, 50);
  ASSERT_TRUE(log.stayed_open);
  int lost = 0;
  for (std::size_t i = 0; i < log.back.size(); ++i) {
    const bool in_cut = log.sent[i] > 300 + log.made_ms + 10 && log.sent[i] < 690;
    const bool clear = log.sent[i] < 290 || log.sent[i] > 710;
    if (in_cut) {
      EXPECT_LT(log.back[i], 0) << "ping " << i << " sent at " << log.sent[i] << " ms";
    }
    if (clear) {
      EXPECT_GE(log.back[i], 0) << "ping " << i << " sent at " << log.sent[i] << " ms";
    }
    lost += log.back[i] < 0;
  }
  EXPECT_GE(lost, 15);  // 20 pings fall in the 400 ms window
}

// A switched fault (what a fault plan's phase compiles to): latency 100 ms from 200 to 400 ms
// after the proxy started. Pings every 20 ms: those sent inside the window come back at least
// 100 ms later; those sent before it, and after the window's last delayed reply has gone
// (400 + 100 ms: the stream keeps its order), come back fast. Tolerance: the proxy's window
// starts up to made_ms after t0, and 5 ms either side of each edge is not judged.
TEST(TcpProxy, SwitchedLatencyActsOnlyInsideItsWindow) {
  const PingLog log = ping_through({"latency:ms=100,from-ms=200,until-ms=400"}, 40);
  ASSERT_TRUE(log.stayed_open);
  int inside = 0, outside = 0;
  for (std::size_t i = 0; i < log.back.size(); ++i) {
    ASSERT_GE(log.back[i], 0) << "ping " << i << " was lost";
    const double rtt = log.back[i] - log.sent[i];
    if (log.sent[i] > 200 + log.made_ms + 5 && log.sent[i] < 400 - 5) {
      EXPECT_GE(rtt, 100 - 1) << "ping " << i << " sent at " << log.sent[i] << " ms, in the window";
      ++inside;
    } else if (log.sent[i] < 200 - 5 || log.sent[i] > 500 + log.made_ms + 5) {
      EXPECT_LT(rtt, 50) << "ping " << i << " sent at " << log.sent[i] << " ms, outside it";
      ++outside;
    }
  }
  EXPECT_GE(inside, 7);    // 10 pings fall in the 200 ms window
  EXPECT_GE(outside, 20);  // 10 before it, 14 after 500 ms
}

// after-bytes: the first N bytes of each connection's direction pass clean, the rest is
// delayed; a chunk that straddles the threshold is split there.
TEST(TcpProxy, AfterBytesPassesTheFirstBytesCleanThenActs) {
  TcpEcho echo;
  auto proxy = tcp_proxy(echo.port(), {"latency:ms=200,after-bytes=60"});
  int fd = dial(proxy->port());
  char out[100];
  std::memset(out, 'x', sizeof out);
  const auto t0 = Clock::now();
  ASSERT_TRUE(send_all(fd, out, sizeof out));  // one write: the echo comes back as one chunk
  char in[100];
  ASSERT_TRUE(recv_all(fd, in, 60));
  const double first = ms_since(t0);
  ASSERT_TRUE(recv_all(fd, in + 60, 40));
  const double rest = ms_since(t0);
  EXPECT_LT(first, 100) << "the first 60 bytes were delayed";
  EXPECT_GE(rest, 200 - 1) << "bytes 61 to 100 were not";
  // A second connection counts its own bytes: its first 60 pass clean again.
  int fd2 = dial(proxy->port());
  const auto t1 = Clock::now();
  ASSERT_TRUE(send_all(fd2, out, 60) && recv_all(fd2, in, 60));
  EXPECT_LT(ms_since(t1), 100);
  ::close(fd);
  ::close(fd2);
}

// Pings of 4 bytes: with after-bytes=40, the first 10 echoes are clean and every later one is
// delayed (one ping at a time, so each echo is a chunk of its own).
TEST(TcpProxy, AfterBytesCountsMessagesOfAConnection) {
  const PingLog log = ping_through({"latency:ms=100,after-bytes=40"}, 20);
  ASSERT_TRUE(log.stayed_open);
  for (std::size_t i = 0; i < log.back.size(); ++i) {
    ASSERT_GE(log.back[i], 0) << "ping " << i << " was lost";
    const double rtt = log.back[i] - log.sent[i];
    if (i < 10) {
      EXPECT_LT(rtt, 50) << "ping " << i << " is within the first 40 bytes";
    } else {
      EXPECT_GE(rtt, 100 - 1) << "ping " << i << " is past the first 40 bytes";
    }
  }
}

TEST(TcpProxy, UpstreamRefusedResetsTheClient) {
  std::uint16_t closed_port;
  {
    TcpEcho gone;
    closed_port = gone.port();
  }
  auto proxy = tcp_proxy(closed_port, {"latency:ms=1"});
  int fd = dial(proxy->port());
  char buf[8];
  errno = 0;
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  EXPECT_EQ(n, -1);
  EXPECT_EQ(errno, ECONNRESET);
  ::close(fd);
  EXPECT_EQ(proxy->stats().upstream_failures, 1u);
}

// toxicity: each connection is affected with probability t, drawn from the seed; over n
// connections the count is binomial, and the same seed selects the same connections.
std::uint64_t affected_of(std::uint64_t seed, double toxicity, int n) {
  TcpEcho echo;
  auto proxy = tcp_proxy(echo.port(), {"latency:ms=1,toxicity=" + std::to_string(toxicity)}, seed);
  for (int i = 0; i < n; ++i) {
    int fd = dial(proxy->port());
    char b[4];
    send_all(fd, "ping", 4);
    recv_all(fd, b, 4);
    ::close(fd);
  }
  return proxy->stats().affected.at(0);
}

TEST(TcpProxy, ToxicityIsBinomialAndSeeded) {
  const int n = 200;
  const double t = 0.3;
  const auto a = affected_of(42, t, n);
  const double sigma = std::sqrt(n * t * (1 - t));
  EXPECT_NEAR(static_cast<double>(a), n * t, 4 * sigma);
  EXPECT_EQ(affected_of(42, t, n), a);
  EXPECT_EQ(affected_of(7, 0.0, 20), 0u);
  EXPECT_EQ(affected_of(7, 1.0, 20), 20u);
}

TEST(TcpProxy, StopClosesClientConnections) {
  TcpEcho echo;
  auto proxy = tcp_proxy(echo.port(), {"latency:ms=1"});
  int fd = dial(proxy->port());
  ASSERT_TRUE(send_all(fd, "x", 1));
  char b;
  ASSERT_TRUE(recv_all(fd, &b, 1));
  proxy->stop();
  EXPECT_LE(::recv(fd, &b, 1, 0), 0);
  ::close(fd);
  proxy->stop();  // idempotent
}

}  // namespace
}  // namespace faultline::fault
