// The stall experiment (docs/latency.md), side by side in one run against one server process
// (faultline-rpc-server, its own process so that it can be paused):
//   1. closed loop and open loop, each for --seconds, with the server stopped (SIGSTOP) for
//      --pause-ms from --pause-at-ms on, then continued;
//   2. the same two without the pause;
//   3. the open loop at rising rates without a pause: the rate it holds and where it cannot.
// With --ceiling, instead: the generator's own ceiling, the open loop at fractions of what a
// raw pipelined sender (bench/latency/raw_sender.h) gets from the same server.
// Prints one line per load and a final verdict per claim; exit 0 when every claim held, 1 when
// one did not (the figures say which), 2 for bad usage.
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "bench/latency/raw_sender.h"
#include "servers/rpc/load.h"

namespace {

using namespace std::chrono_literals;
using faultline::rpc::LoadOptions;
using faultline::rpc::LoadResult;

// The server as a child process; its port from its first line of output.
struct ServerChild {
  pid_t pid = -1;
  std::uint16_t port = 0;
  ServerChild() {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe");
    pid = ::fork();
    if (pid == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::execl(FAULTLINE_RPC_SERVER, FAULTLINE_RPC_SERVER, "--port", "0", "--threads", "2",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    FILE* in = ::fdopen(out[0], "r");
    char line[256] = {};
    if (!std::fgets(line, sizeof line, in)) throw std::runtime_error("the server said nothing");
    const char* colon = std::strrchr(line, ':');
    if (colon == nullptr) throw std::runtime_error(std::string("unexpected: ") + line);
    port = static_cast<std::uint16_t>(std::atoi(colon + 1));
  }
  ~ServerChild() {
    ::kill(pid, SIGCONT);
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
  }
};

double us(std::uint64_t ns) {
  return static_cast<double>(ns) / 1000.0;
}

// Runs one load; with a pause, a thread stops the server for `pause` from `pause_at` on.
LoadResult measure(const ServerChild& server, LoadOptions o, std::chrono::milliseconds pause_at,
                   std::chrono::milliseconds pause) {
  o.port = server.port;
  std::thread nemesis;
  if (pause.count() > 0) {
    nemesis = std::thread([&] {
      std::this_thread::sleep_for(pause_at);
      ::kill(server.pid, SIGSTOP);
      std::this_thread::sleep_for(pause);
      ::kill(server.pid, SIGCONT);
    });
  }
  LoadResult r = faultline::rpc::run_load(o);
  if (nemesis.joinable()) nemesis.join();
  return r;
}

void print(const std::string& what, const LoadResult& r) {
  std::cout << fmt::format(
      "{:<34} sent {:>7} at {:>8.0f}/s  replied {:>7}  p50 {:>9.1f}  p99 {:>10.1f}  p99.9 "
      "{:>10.1f}  max {:>10.1f} us  (uncorrected p99 {:.1f} us; {} sent >1 ms late)\n",
      what, r.sent, r.achieved_rate, r.replied, us(r.corrected.percentile(50)),
      us(r.corrected.percentile(99)), us(r.corrected.percentile(99.9)), us(r.corrected.max()),
      us(r.uncorrected.percentile(99)), r.sent_late);
}

struct Args {
  double seconds = 5, rate = 2000;
  long pause_ms = 1000, pause_at_ms = 2000;
  bool ceiling = false;
};

// Exits 2 on bad usage, 0 for --help.
Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::cerr << "bench_latency: " << flag << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (flag == "--seconds") {
      a.seconds = std::atof(value());
    } else if (flag == "--rate") {
      a.rate = std::atof(value());
    } else if (flag == "--pause-ms") {
      a.pause_ms = std::atol(value());
    } else if (flag == "--pause-at-ms") {
      a.pause_at_ms = std::atol(value());
    } else if (flag == "--ceiling") {
      a.ceiling = true;
    } else {
      std::cerr << "usage: bench_latency [--seconds S] [--rate R] [--pause-ms P] "
                   "[--pause-at-ms T]\n       bench_latency --ceiling\n";
      std::exit(flag == "--help" ? 0 : 2);
    }
  }
  if (!(a.seconds > 0 && a.seconds <= 600) || !(a.rate > 0 && a.rate <= 1e6) || a.pause_ms < 0 ||
      a.pause_at_ms < 0 || a.pause_at_ms + a.pause_ms > a.seconds * 1000) {
    std::cerr << "bench_latency: --seconds in (0, 600], --rate in (0, 1e6], and the pause must "
                 "end within the run\n";
    std::exit(2);
  }
  return a;
}

// The open loop at rising rates without a pause: the rate it holds.
void rate_sweep(const ServerChild& server, LoadOptions open) {
  std::cout << "\nrates held by the open loop (no pause, 2 s each):\n";
  open.duration = 2s;
  for (double r : {1000.0, 5000.0, 10000.0, 20000.0, 40000.0, 80000.0}) {
    open.rate = r;
    const LoadResult lr = measure(server, open, 0ms, 0ms);
    print(fmt::format("open loop at {:.0f}/s ({:.2f}% of it)", r, 100 * lr.achieved_rate / r), lr);
  }
}

// One line per claim of docs/latency.md; true when every one held.
bool check_claims(const LoadResult& closed_paused, const LoadResult& open_paused,
                  const LoadResult& open_quiet, long pause_ms) {
  const double p99_open = static_cast<double>(open_paused.corrected.percentile(99));
  const double p99_closed = static_cast<double>(closed_paused.corrected.percentile(99));
  const double ratio = p99_closed > 0 ? p99_open / p99_closed : 0;
  const double quiet_gap =
      std::abs(static_cast<double>(open_quiet.corrected.percentile(99)) -
               static_cast<double>(open_quiet.uncorrected.percentile(99))) /
      static_cast<double>(std::max<std::uint64_t>(open_quiet.uncorrected.percentile(99), 1));
  const double pause_ns = static_cast<double>(pause_ms) * 1e6;
  const double worst = static_cast<double>(open_paused.corrected.max());
  bool all = true;
  auto claim = [&](bool held, const std::string& text) {
    all = all && held;
    std::cout << (held ? "held:   " : "MISSED: ") << text << "\n";
  };
  std::cout << "\n";
  claim(ratio >= 10, fmt::format("with the pause, open-loop p99 is {:.0f}x the closed-loop p99 "
                                 "(claim: at least 10x)",
                                 ratio));
  claim(worst >= pause_ns * 0.95,
        fmt::format("with the pause, the open loop's worst latency is {:.0f} ms (claim: about "
                    "the pause, {} ms)",
                    worst / 1e6, pause_ms));
  claim(p99_open >= pause_ns * 0.5,
        fmt::format("with the pause, open-loop p99 is {:.0f} ms, {:.0f}% of the pause",
                    p99_open / 1e6, 100 * p99_open / pause_ns));
  claim(quiet_gap <= 0.10, fmt::format("without the pause, corrected and uncorrected p99 of the "
                                       "open loop differ by {:.1f}% (claim: within 10%)",
                                       100 * quiet_gap));
  return all;
}

// The generator's ceiling: what a raw sender gets from the server, then the open loop at
// fractions of that. Held: it sent what was due (99 % of the rate, at most 1 % sent more than
// 1 ms late). Returns 0; the figures are the finding.
int ceiling(const ServerChild& server) {
  const auto raw = faultline::bench::run_raw_sender(server.port, 4, 256, 3s);
  std::cout << fmt::format(
      "raw sender (4 connections, 256 outstanding each, batches of 32, 3 s): {:.0f} replies/s "
      "({} sent, {} replied in the run)\n\n",
      raw.rate(), raw.sent, raw.replied);
  LoadOptions open;
  open.connections = 4;
  open.duration = 3s;
  double held = 0;
  for (double fraction : {0.1, 0.25, 0.5, 0.75, 1.0}) {
    open.rate = raw.rate() * fraction;
    const LoadResult r = measure(server, open, 0ms, 0ms);
    const bool kept = r.achieved_rate >= 0.99 * open.rate &&
                      static_cast<double>(r.sent_late) <= 0.01 * static_cast<double>(r.sent);
    if (kept) held = std::max(held, open.rate);
    print(fmt::format("open loop at {:.0f}% ({:.0f}/s) {}", 100 * fraction, open.rate,
                      kept ? "held" : "NOT held"),
          r);
  }
  std::cout << fmt::format(
      "\nthe open loop held {:.0f}/s: {:.2f} of the raw sender's {:.0f}/s on this machine\n", held,
      raw.rate() > 0 ? held / raw.rate() : 0, raw.rate());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  ServerChild server;
  if (args.ceiling) return ceiling(server);
  LoadOptions closed;
  closed.open_loop = false;
  closed.connections = 4;
  closed.duration = std::chrono::milliseconds(static_cast<long>(args.seconds * 1000));
  LoadOptions open = closed;
  open.open_loop = true;
  open.rate = args.rate;
  const auto at = std::chrono::milliseconds(args.pause_at_ms);
  const auto pause = std::chrono::milliseconds(args.pause_ms);
  std::cout << fmt::format(
      "server: faultline-rpc-server (2 threads) on 127.0.0.1:{}; load: 4 connections, {} s; "
      "open loop at {:.0f}/s; pause: SIGSTOP {} ms from {} ms\n\n",
      server.port, args.seconds, args.rate, args.pause_ms, args.pause_at_ms);
  const LoadResult closed_paused = measure(server, closed, at, pause);
  print("closed loop, paused", closed_paused);
  const LoadResult open_paused = measure(server, open, at, pause);
  print("open loop, paused", open_paused);
  print("closed loop, no pause", measure(server, closed, at, 0ms));
  const LoadResult open_quiet = measure(server, open, at, 0ms);
  print("open loop, no pause", open_quiet);
  rate_sweep(server, open);
  return check_claims(closed_paused, open_paused, open_quiet, args.pause_ms) ? 0 : 1;
}
