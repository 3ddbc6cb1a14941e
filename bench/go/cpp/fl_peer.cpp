// faultline's side of the RPC comparison in scripts/bench-vs-go.sh, the peer of
// bench/go/rpcbench (Go's net/rpc), and the raw floor under both.
//
//   fl_peer rpc --conns K --seconds S        faultline's RPC stack (servers/rpc): a Server with 2
//                                            io threads and K Clients spread over an IoPool of 2
//                                            more, in this process; K callers, each one call at a
//                                            time, decoding the reply into a DivideReply (Go
//                                            decodes into its Result) and checking it. Callers
//                                            are coroutines on their client's io thread
//                                            (Client::async_go: Go's goroutines calling
//                                            client.Call), or with --callers threads a thread
//                                            each (Client::go, then wait). --spin-us sets how
//                                            long an idle io thread polls before it blocks
//                                            (ServerOptions::spin; 0: never).
//   fl_peer pingpong --conns K --seconds S   the floor: K blocking TCP connections, a thread per
//                                            end, each writing the exact bytes of a Divide request
//                                            frame and answering with those of its reply frame.
//                                            No RPC stack at all: what loopback and two context
//                                            switches cost on this machine.
//
// Prints one line of JSON, the fields rpcbench prints. Not part of the CMake build: the script
// compiles it against build/release's libraries. Everything on 127.0.0.1; every loop ends at
// --seconds.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "servers/rpc/client.h"
#include "servers/rpc/frame.h"
#include "servers/rpc/io_pool.h"
#include "servers/rpc/messages.h"
#include "servers/rpc/server.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace faultline::rpc;
constexpr std::size_t kMaxSamplesPerCaller = 1 << 20;

struct Lane {
  std::vector<std::uint32_t> ns;  // each call's round trip
  std::uint64_t failed = 0;
};

void print(const char* stack, int conns, double seconds, std::vector<Lane>& lanes) {
  std::vector<std::uint32_t> all;
  std::uint64_t failed = 0;
  for (auto& l : lanes) {
    all.insert(all.end(), l.ns.begin(), l.ns.end());
    failed += l.failed;
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    if (all.empty()) return 0.0;
    std::size_t k = static_cast<std::size_t>(p / 100 * static_cast<double>(all.size()));
    return all[std::min(k, all.size() - 1)] / 1000.0;
  };
  double sum = 0;
  for (auto v : all) sum += v;
  const double mean = all.empty() ? 0 : sum / static_cast<double>(all.size()) / 1000.0;
  std::printf(
      "%s\n",
      fmt::format("{{\"stack\":\"{}\",\"conns\":{},\"calls\":{},\"failed\":{},\"seconds\":{:.4f},"
                  "\"calls_per_s\":{:.1f},\"p50_us\":{:.2f},\"p99_us\":{:.2f},\"mean_us\":{:.2f}}}",
                  stack, conns, all.size(), failed, seconds,
                  static_cast<double>(all.size()) / seconds, pct(50), pct(99), mean)
          .c_str());
}

std::uint32_t since(Clock::time_point t0) {
  const auto d = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
  return static_cast<std::uint32_t>(std::min<long long>(d, 0xffffffffLL));
}

bool divide_ok(const DivideReply& reply) {
  auto quo = reply.quotient.find("Quo");
  auto rem = reply.quotient.find("Rem");
  return quo != reply.quotient.end() && quo->second == 3 && rem != reply.quotient.end() &&
         rem->second == 1;
}

// One caller as a coroutine on its client's io thread (Go's goroutine per connection): one call
// at a time, each awaited with Client::async_go.
boost::asio::awaitable<void> coroutine_caller(Client& client, Lane& lane, Clock::time_point end,
                                              const std::string& args) {
  while (Clock::now() < end && lane.ns.size() < kMaxSamplesPerCaller) {
    DivideReply reply;
    const auto t0 = Clock::now();
    const CallResult result = co_await client.async_go(
        kDivideMethod, args,
        [&reply](const std::string& body) { decode_divide_reply(body, reply); }, {},
        boost::asio::use_awaitable);
    const std::uint32_t rtt = since(t0);
    if (result.outcome != CallOutcome::kReplied || result.status != Status::kOk ||
        !divide_ok(reply)) {
      ++lane.failed;
      if (result.outcome == CallOutcome::kClosed) break;
      continue;
    }
    lane.ns.push_back(rtt);
  }
}

// One caller as a thread of its own: Client::go, then wait (Go's client.Call from a thread).
void thread_caller(Client& client, Lane& lane, Clock::time_point end, const std::string& args) {
  while (Clock::now() < end && lane.ns.size() < kMaxSamplesPerCaller) {
    DivideReply reply;
    const auto t0 = Clock::now();
    auto call = client.go(kDivideMethod, args,
                          [&reply](const std::string& body) { decode_divide_reply(body, reply); });
    const bool done = call->wait_until(Clock::now() + std::chrono::seconds(10));
    const std::uint32_t rtt = since(t0);
    if (!done || call->result().status != Status::kOk || !divide_ok(reply)) {
      ++lane.failed;
      if (!done) break;
      continue;
    }
    lane.ns.push_back(rtt);
  }
}

int run_rpc(int conns, double seconds, bool coroutines, std::chrono::microseconds spin) {
  ServerOptions options{"127.0.0.1", 0, 2, kMaxFrameBytes};
  options.spin = spin;
  Server server(options);
  register_arith(server);
  server.start();
  IoPool pool(2, spin);
  pool.start("fl_peer");
  std::vector<std::shared_ptr<Client>> clients;
  std::vector<boost::asio::io_context*> homes;
  for (int i = 0; i < conns; ++i) {
    auto& io = pool.next();
    clients.push_back(Client::dial(io, server.port()));
    homes.push_back(&io);
  }

  const std::string args = encode_divide_args({10, 3});
  std::vector<Lane> lanes(static_cast<std::size_t>(conns));
  for (auto& lane : lanes) lane.ns.reserve(4096);
  const auto start = Clock::now();
  const auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> callers;
  std::atomic<int> running{conns};
  std::promise<void> all_done;
  for (std::size_t c = 0; c < static_cast<std::size_t>(conns); ++c) {
    if (coroutines) {
      boost::asio::co_spawn(*homes[c], coroutine_caller(*clients[c], lanes[c], end, args),
                            [&](std::exception_ptr) {
                              if (--running == 0) all_done.set_value();
                            });
    } else {
      callers.emplace_back([&, c] { thread_caller(*clients[c], lanes[c], end, args); });
    }
  }
  if (coroutines) all_done.get_future().wait();
  for (auto& t : callers) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& c : clients) c->close();
  pool.stop();
  server.stop();
  print(coroutines ? "faultline-rpc" : "faultline-rpc-threads", conns, elapsed, lanes);
  return 0;
}

bool write_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

bool read_exact(int fd, char* buf, std::size_t len) {
  std::size_t off = 0;
  while (off < len) {
    const ssize_t n = ::read(fd, buf + off, len - off);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

// The bytes faultline's stack puts on the wire for one Divide call and its reply.
std::pair<std::string, std::string> divide_frames() {
  Frame req;
  req.kind = FrameKind::kRequest;
  req.call_id = 1;
  req.method = std::string(kDivideMethod);
  req.body = encode_divide_args({10, 3});
  Frame rep;
  rep.kind = FrameKind::kResponse;
  rep.call_id = 1;
  rep.status = Status::kOk;
  rep.body = encode_divide_reply({10, 3, {{"Quo", 3}, {"Rem", 1}}});
  return {encode_frame(req), encode_frame(rep)};
}

// `conns` connected TCP pairs on 127.0.0.1 (no Nagle): the client ends in `cfds`, the server
// ends in `sfds`; returns the listening socket.
int loopback_pairs(int conns, std::vector<int>& cfds, std::vector<int>& sfds) {
  const int ls = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof addr;
  if (ls < 0 || ::bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(ls, 1024) != 0 || ::getsockname(ls, reinterpret_cast<sockaddr*>(&addr), &alen) != 0)
    throw std::runtime_error("listen on 127.0.0.1 failed");
  const int one = 1;
  for (int i = 0; i < conns; ++i) {
    const int c = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("connect failed");
    const int s = ::accept(ls, nullptr, nullptr);
    if (s < 0) throw std::runtime_error("accept failed");
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    cfds.push_back(c);
    sfds.push_back(s);
  }
  return ls;
}

int run_pingpong(int conns, double seconds) {
  const auto frames = divide_frames();
  const std::string& request = frames.first;
  const std::string& reply = frames.second;
  std::vector<int> cfds, sfds;
  const int ls = loopback_pairs(conns, cfds, sfds);
  std::vector<std::thread> servers;
  for (int s : sfds) {
    servers.emplace_back([s, &request, &reply] {
      std::string buf(request.size(), '\0');
      while (read_exact(s, buf.data(), buf.size()) && write_all(s, reply)) {
      }
    });
  }
  std::vector<Lane> lanes(static_cast<std::size_t>(conns));
  const auto start = Clock::now();
  const auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> callers;
  for (int c = 0; c < conns; ++c) {
    callers.emplace_back([&, c] {
      Lane& lane = lanes[static_cast<std::size_t>(c)];
      std::string buf(reply.size(), '\0');
      while (Clock::now() < end && lane.ns.size() < kMaxSamplesPerCaller) {
        const auto t0 = Clock::now();
        if (!write_all(cfds[static_cast<std::size_t>(c)], request) ||
            !read_exact(cfds[static_cast<std::size_t>(c)], buf.data(), buf.size())) {
          ++lane.failed;
          break;
        }
        lane.ns.push_back(since(t0));
      }
    });
  }
  for (auto& t : callers) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  for (int c : cfds) ::shutdown(c, SHUT_RDWR);  // the servers' reads end
  for (auto& t : servers) t.join();
  for (int c : cfds) ::close(c);
  for (int s : sfds) ::close(s);
  ::close(ls);
  print("raw-pingpong", conns, elapsed, lanes);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: fl_peer rpc|pingpong [--conns K] [--seconds S] [--callers "
                 "coroutines|threads] [--spin-us N]\n");
    return 2;
  }
  const std::string mode = argv[1];
  int conns = 1;
  double seconds = 3;
  bool coroutines = true;
  std::chrono::microseconds spin = ServerOptions{}.spin;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--conns") {
      conns = std::atoi(argv[i + 1]);
    } else if (flag == "--spin-us") {
      spin = std::chrono::microseconds(std::atoi(argv[i + 1]));
    } else if (flag == "--callers") {
      coroutines = std::string(argv[i + 1]) != "threads";
    } else if (flag == "--seconds") {
      seconds = std::atof(argv[i + 1]);
    } else {
      std::fprintf(stderr, "fl_peer: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  if (conns < 1 || conns > 1024 || !(seconds > 0 && seconds <= 60)) {
    std::fprintf(stderr, "fl_peer: --conns in 1..1024, --seconds in (0, 60]\n");
    return 2;
  }
  try {
    if (mode == "rpc") return run_rpc(conns, seconds, coroutines, spin);
    if (mode == "pingpong") return run_pingpong(conns, seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fl_peer: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "fl_peer: unknown mode %s\n", mode.c_str());
  return 2;
}
