// The fault proxy's own cost, with no fault active: what a scenario pays for routing through
// it. Toxiproxy documents under 100 us of added latency with no toxic.
//
//   BM_RoundTrip/direct|proxy   64-byte ping-pong on one connection to a loopback echo server;
//                               counters p50_us, p99_us over every round trip of the run.
//   BM_Throughput/direct|proxy  a server streams bytes, the client reads 4 MiB per iteration
//                               (bytes_per_second).
#include <benchmark/benchmark.h>

#include <memory>

#include "harness/fault/proxy.h"
#include "tests/fault/loopback.h"

namespace {

using namespace faultline::fault;
using namespace faultline::fault::test;

std::unique_ptr<Proxy> plain_proxy(std::uint16_t upstream) {
  ProxyOptions o;
  o.upstream_port = upstream;
  return std::make_unique<Proxy>(std::move(o));
}

void BM_RoundTrip(benchmark::State& state) {
  TcpEcho echo;
  std::unique_ptr<Proxy> proxy = state.range(0) ? plain_proxy(echo.port()) : nullptr;
  int fd = dial(proxy ? proxy->port() : echo.port());
  char out[64] = {}, in[64];
  std::vector<double> rtt_us;
  rtt_us.reserve(1 << 20);
  for (auto _ : state) {
    auto t0 = Clock::now();
    if (!send_all(fd, out, sizeof out) || !recv_all(fd, in, sizeof in)) {
      state.SkipWithError("round trip failed");
      break;
    }
    rtt_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  ::close(fd);
  if (rtt_us.empty()) return;
  std::sort(rtt_us.begin(), rtt_us.end());
  state.counters["p50_us"] = rtt_us[rtt_us.size() / 2];
  state.counters["p99_us"] = rtt_us[rtt_us.size() * 99 / 100];
  state.SetLabel(state.range(0) ? "proxy" : "direct");
}
BENCHMARK(BM_RoundTrip)->ArgName("proxy")->Arg(0)->Arg(1)->MinTime(3.0)->UseRealTime();

// A server that writes as fast as the client reads, until the client closes.
class Source {
 public:
  Source() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto a = loopback(0);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    port_ = local_port(fd_);
    thread_ = std::thread([this] {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      std::vector<char> buf(256 * 1024, 's');
      while (send_all(c, buf.data(), buf.size())) {
      }
      ::close(c);
    });
  }
  ~Source() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

void BM_Throughput(benchmark::State& state) {
  Source source;
  std::unique_ptr<Proxy> proxy = state.range(0) ? plain_proxy(source.port()) : nullptr;
  int fd = dial(proxy ? proxy->port() : source.port());
  const std::size_t per_iteration = 4 << 20;
  std::vector<char> buf(per_iteration);
  for (auto _ : state) {
    if (!recv_all(fd, buf.data(), buf.size())) {
      state.SkipWithError("read failed");
      break;
    }
  }
  ::close(fd);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * per_iteration));
  state.SetLabel(state.range(0) ? "proxy" : "direct");
}
BENCHMARK(BM_Throughput)->ArgName("proxy")->Arg(0)->Arg(1)->MinTime(3.0)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
