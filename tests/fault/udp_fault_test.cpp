// The UDP faults through the proxy against a loopback UDP echo server. Fractions are checked
// against binomial bounds (4 sigma) over thousands of datagrams.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "harness/fault/proxy.h"
#include "tests/fault/loopback.h"

namespace faultline::fault {
namespace {

using namespace test;

std::unique_ptr<Proxy> udp_proxy(std::uint16_t upstream, std::vector<std::string> faults,
                                 std::uint64_t seed = 1) {
  ProxyOptions o;
  o.protocol = Protocol::kUdp;
  o.upstream_port = upstream;
  for (const auto& f : faults) o.faults.push_back(make_fault(f));
  o.seed = seed;
  return std::make_unique<Proxy>(std::move(o));
}

// Sends n numbered datagrams through the proxy and returns the numbers of the echoes, in
// arrival order. Paced by the proxy's own counters: a batch goes once the proxy has read every
// datagram sent so far and every echo the server sent, so no socket buffer overflows, even in
// a slow (sanitized) build, and every loss is the fault's.
std::vector<std::uint32_t> exchange(
    Proxy& proxy, const UdpEcho& echo, std::uint32_t n,
    std::chrono::milliseconds settle = std::chrono::milliseconds(300)) {
  const std::uint16_t port = proxy.port();
  const std::uint64_t echoed_before = echo.received();  // the echo server may be reused
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int big = 4 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  auto a = loopback(port);
  ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  std::vector<std::uint32_t> got;
  std::atomic<std::uint64_t> got_count{0};
  std::atomic<bool> sending{true};
  std::thread reader([&] {
    auto quiet_since = Clock::now();
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 10) > 0) {
        std::uint32_t v = 0;
        if (::recv(fd, &v, sizeof v, 0) == sizeof v) {
          got.push_back(v);
          got_count.fetch_add(1);
        }
        quiet_since = Clock::now();
      } else if (!sending.load() && Clock::now() - quiet_since > settle) {
        return;
      }
    }
  });
  for (std::uint32_t i = 0; i < n; ++i) {
    ::send(fd, &i, sizeof i, 0);
    if (i % 32 == 31) {
      // Wait until the proxy read everything sent, the echoes of what the server got, and the
      // client read everything the proxy sent it: at most 32 datagrams (64 duplicated) in flight.
      // The wait ends as soon as all is drained; its bound only matters on a loaded machine
      // (ctest -j2 beside a build), where 200 ms let datagrams pile up past the socket buffers
      // and be lost, which the loss-free tests then saw as missing.
      const auto until = Clock::now() + std::chrono::milliseconds(2000);
      for (;;) {
        const auto st = proxy.stats();
        const bool drained = st.datagrams_up > i &&
                             st.datagrams_down >= echo.received() - echoed_before &&
                             got_count.load() >= st.datagrams_sent_down;
        if (drained || Clock::now() > until) break;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    }
  }
  sending = false;
  reader.join();
  ::close(fd);
  return got;
}

TEST(UdpProxy, ForwardsEveryDatagramWithoutFaults) {
  UdpEcho echo;
  auto proxy = udp_proxy(echo.port(), {});
  auto got = exchange(*proxy, echo, 2000);
  EXPECT_EQ(got.size(), 2000u);
  EXPECT_EQ(proxy->stats().flows, 1u);
}

// after-datagrams: the first N datagrams of a flow's direction pass, then the fault acts (here
// a loss of every datagram).
TEST(UdpProxy, AfterDatagramsPassesTheFirstOnesThenActs) {
  UdpEcho echo;
  auto proxy = udp_proxy(echo.port(), {"udp-loss:p=1,after-datagrams=50,direction=up"});
  auto got = exchange(*proxy, echo, 200);
  ASSERT_EQ(got.size(), 50u);
  for (std::uint32_t i = 0; i < 50; ++i) EXPECT_EQ(got[i], i);
  EXPECT_EQ(proxy->stats().dropped, 150u);
}

TEST(UdpProxy, LossFractionWithinBinomialBounds) {
  UdpEcho echo;
  const double p = 0.1;
  const std::uint32_t n = 4000;
  auto proxy = udp_proxy(echo.port(), {"udp-loss:p=0.1,direction=up"});
  auto got = exchange(*proxy, echo, n);
  const double lost = n - static_cast<double>(got.size());
  const double sigma = std::sqrt(n * p * (1 - p));
  EXPECT_NEAR(lost, n * p, 4 * sigma) << got.size() << " of " << n << " came back";
  EXPECT_EQ(static_cast<double>(proxy->stats().dropped), lost);  // no other loss on the way
  EXPECT_EQ(echo.received(), got.size());
}

TEST(UdpProxy, DuplicationFractionWithinBinomialBounds) {
  UdpEcho echo;
  const double p = 0.2;
  const std::uint32_t n = 4000;
  auto proxy = udp_proxy(echo.port(), {"udp-duplicate:p=0.2"});  // down: the echoes
  auto got = exchange(*proxy, echo, n);
  const double extra = static_cast<double>(got.size()) - n;
  const double sigma = std::sqrt(n * p * (1 - p));
  EXPECT_NEAR(extra, n * p, 4 * sigma);
  std::set<std::uint32_t> distinct(got.begin(), got.end());
  EXPECT_EQ(distinct.size(), n);  // duplicates, nothing lost
}

TEST(UdpProxy, ReorderDeliversEverythingOutOfOrder) {
  UdpEcho echo;
  auto proxy = udp_proxy(echo.port(), {"udp-reorder:p=0.1,gap=2,direction=up"});
  const std::uint32_t n = 2000;
  auto got = exchange(*proxy, echo, n);
  std::set<std::uint32_t> distinct(got.begin(), got.end());
  EXPECT_EQ(distinct.size(), n);
  std::size_t inversions = 0;
  for (std::size_t i = 1; i < got.size(); ++i) inversions += got[i] < got[i - 1] ? 1 : 0;
  const double expected = 0.1 * n;
  EXPECT_NEAR(static_cast<double>(proxy->stats().reordered), expected,
              4 * std::sqrt(n * 0.1 * 0.9));
  EXPECT_GE(inversions, proxy->stats().reordered / 2);
}

TEST(UdpProxy, DelayAddsItsMilliseconds) {
  UdpEcho echo;
  auto proxy = udp_proxy(echo.port(), {"udp-delay:ms=20,direction=both"});
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  auto a = loopback(proxy->port());
  ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  std::vector<double> rtt;
  for (std::uint32_t i = 0; i < 30; ++i) {
    auto t0 = Clock::now();
    ::send(fd, &i, sizeof i, 0);
    pollfd p{fd, POLLIN, 0};
    ASSERT_GT(::poll(&p, 1, 2000), 0);
    std::uint32_t v;
    ASSERT_EQ(::recv(fd, &v, sizeof v, 0), static_cast<ssize_t>(sizeof v));
    rtt.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  ::close(fd);
  std::sort(rtt.begin(), rtt.end());
  EXPECT_GE(rtt.front(), 40.0 * 0.97);
  EXPECT_LE(rtt[rtt.size() / 2], 40.0 + 25.0);
}

// The same seed and the same traffic drop the same datagrams; another seed drops others.
TEST(UdpProxy, SameSeedSameDraws) {
  UdpEcho echo;
  auto run = [&](std::uint64_t seed) {
    auto proxy = udp_proxy(echo.port(), {"udp-loss:p=0.3,direction=up"}, seed);
    auto got = exchange(*proxy, echo, 1000, std::chrono::milliseconds(150));
    return std::set<std::uint32_t>(got.begin(), got.end());
  };
  const auto a = run(11);
  const auto b = run(11);
  const auto c = run(12);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_LT(a.size(), 1000u);
}

}  // namespace
}  // namespace faultline::fault
