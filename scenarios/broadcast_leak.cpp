// broadcast-leak (seed 004): a broadcast handler waits for its worker with a deadline on an
// unbuffered channel; a worker that finishes late blocks forever on its send. Threads pile up.
//
// Incident: a Go server kept one TCP connection per user; a UDP request asked it to push a message
// to every user. UdpTransport.Handle started `go func() { t.run(...); ch <- struct{}{} }()` on
// `ch := make(chan struct{}, 0)` and selected on ch and a 5 s ctx.Done(). Pushing to every user
// often took longer than 5 s: Handle returned, and the goroutine, once done pushing, blocked on
// `ch <-` forever since nobody would ever receive. Monitoring showed the goroutine count far above
// one per user, climbing.
// Root cause: a rendezvous send outlives its only receiver; nothing bounds the worker either.
// Fix (the seed's): `make(chan struct{}, 1)`, so the late send completes into the buffer and the
// worker ends; and run() honours the context, so a worker stops pushing at the deadline.
// C++ analogue: one std::thread per request (detached, as a goroutine is), a Go-like Channel with
// capacity 0 or 1, slow clients whose small receive buffers make pushes outlast the deadline.
//
// Timeline of the bad interleaving (buggy):
//   handler  done = Channel(0); spawn worker; done.receive_until(deadline)
//   worker   push to client 1..k (slow readers: send() waits for room)
//   handler  deadline passes: "timeout" -> returns; nobody will receive on `done` again
//   worker   push finishes; done.send() waits for a receiver forever   -> one leaked thread
//   ...      every timed-out broadcast leaves one more
//
// Oracle: the process's thread count from /proc/self/task (the server runs in this process),
// sampled through the run: baseline before the first broadcast, peak, and final after a grace
// period; `thread_leak` = final - baseline, next to the number of timed-out broadcasts.
// Defaults are scaled: the seed's 5 s deadline would make one run last about a minute; the
// deadline is one flag away (deadline-ms=5000, with slower clients to still outlast it).
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <numeric>
#include <random>
#include <thread>

#include "harness/fault/route.h"
#include "harness/probe/perturb.h"
#include "harness/probe/resource_tally.h"
#include "harness/probe/thread_sampler.h"
#include "harness/scenario/scenario_api.h"
#include "servers/broadcast/broadcast_server.h"

namespace {
using namespace faultline;
using broadcast::BroadcastOptions;
using broadcast::BroadcastServer;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

const ScenarioSpec kSpec{
    .id = "broadcast-leak",
    .seed = "004",
    .title = "broadcast worker blocks forever on a rendezvous channel after its handler timed out",
    .oracle = "thread_leak > 0: thread count after the grace period above the baseline",
    .variants = {"buggy", "fixed"},
    .params =
        {
            {.name = "clients",
             .default_value = "32",
             .help = "long TCP connections",
             .min = 1,
             .max = 1000},
            {.name = "slow-clients",
             .default_value = "4",
             .help = "of those, clients that read slowly (chosen with the seed)",
             .min = 0,
             .max = 1000},
            {.name = "broadcasts",
             .default_value = "8",
             .help = "UDP broadcast requests",
             .min = 1,
             .max = 1000},
            {.name = "interval-ms",
             .default_value = "100",
             .help = "pause between a reply and the next request, ms",
             .min = 0,
             .max = 60000},
            {.name = "deadline-ms",
             .default_value = "300",
             .help = "Handle's deadline, ms (the seed's: 5000)",
             .min = 1,
             .max = 60000},
            {.name = "push-bytes",
             .default_value = "65536",
             .help = "payload of each pushed message, bytes",
             .min = 1,
             .max = 16777216},
            {.name = "slow-read-bytes",
             .default_value = "4096",
             .help = "a slow client reads this much per turn, bytes",
             .min = 1,
             .max = 1048576},
            {.name = "slow-read-interval-ms",
             .default_value = "20",
             .help = "time between a slow client's reads, ms",
             .min = 1,
             .max = 10000},
            {.name = "socket-buffer-bytes",
             .default_value = "16384",
             .help = "SO_SNDBUF on the server's connections and SO_RCVBUF on the clients', bytes",
             .min = 0,
             .max = 16777216},
            {.name = "grace-ms",
             .default_value = "500",
             .help = "wait after the last broadcast before the final count, ms",
             .min = 0,
             .max = 60000},
        },
    .faults = {"tcp", "udp"},
    .expectations =
        {
            faultline::expect_incident("buggy", "*", {{"thread_leak"}}, {"broadcasts_timed_out>0"}),
            // The window: a broadcast passed its deadline with a worker still pushing.
            faultline::expect_clean("fixed", "*", {"broadcasts_timed_out>0"}),
        },
};

// The users: one thread drives every client connection; slow ones read a little per turn.
class Clients {
 public:
  Clients(std::uint16_t port, int count, const std::vector<bool>& slow, int rcvbuf,
          std::size_t slow_bytes, milliseconds slow_interval)
      : slow_(slow), slow_bytes_(slow_bytes), slow_interval_(slow_interval) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < count; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        // Out of fds (--max-fds): the run's symptom; open no more.
        faultline::resource_tally().note_fd(errno, "socket (broadcast-leak user)");
        break;
      }
      if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        continue;
      }
      fds_.push_back(fd);
    }
    thread_ = std::thread([this] { loop(); });
  }
  ~Clients() {
    stop_.store(true);
    thread_.join();
    for (int fd : fds_) ::close(fd);
  }
  int connected() const { return static_cast<int>(fds_.size()); }
  std::uint64_t bytes() const { return bytes_.load(); }

 private:
  void loop() {
    std::vector<Clock::time_point> next(fds_.size(), Clock::now());
    std::vector<char> buf(64 * 1024);
    while (!stop_.load()) {
      const auto now = Clock::now();
      for (std::size_t i = 0; i < fds_.size(); ++i) {
        const bool slow = slow_[i];
        if (slow && now < next[i]) continue;
        const std::size_t want = slow ? std::min(slow_bytes_, buf.size()) : buf.size();
        // Fast clients drain what is there (bounded per turn); slow ones take one bite.
        for (int turn = 0; turn < (slow ? 1 : 16); ++turn) {
          const ssize_t n = ::recv(fds_[i], buf.data(), want, MSG_DONTWAIT);
          if (n <= 0) break;
          bytes_.fetch_add(static_cast<std::uint64_t>(n));
        }
        if (slow) next[i] = now + slow_interval_;
      }
      std::this_thread::sleep_for(milliseconds(1));
    }
  }

  std::vector<bool> slow_;
  std::size_t slow_bytes_;
  milliseconds slow_interval_;
  std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> bytes_{0};
  std::thread thread_;
};

int run(Context& ctx) {
  const auto& p = ctx.params;
  BroadcastOptions options;
  options.deadline = milliseconds(p.integer("deadline-ms"));
  options.push_bytes = static_cast<std::size_t>(p.integer("push-bytes"));
  options.client_send_buffer = static_cast<int>(p.integer("socket-buffer-bytes"));
  if (ctx.is("buggy")) {
    options.completion_capacity = 0;           // BUG: make(chan struct{}, 0): a late send blocks
    options.worker_stops_at_deadline = false;  // BUG: t.run() ignores the context
  } else {
    options.completion_capacity = 1;          // FIX: make(chan struct{}, 1): a late send completes
    options.worker_stops_at_deadline = true;  // FIX: the worker stops pushing at the deadline
  }

  ThreadSampler sampler(0, milliseconds(10));
  sampler.start();
  BroadcastServer server(options);
  server.start();
  ctx.report.metric("tcp_port", server.tcp_port());
  ctx.report.metric("udp_port", server.udp_port());
  ctx.report.note(fmt::format("broadcast server on 127.0.0.1: tcp {} udp {}", server.tcp_port(),
                              server.udp_port()));

  const int n_clients = static_cast<int>(p.integer("clients"));
  const int n_slow = std::min(n_clients, static_cast<int>(p.integer("slow-clients")));
  std::vector<bool> slow(static_cast<std::size_t>(n_clients), false);
  std::fill_n(slow.begin(), n_slow, true);
  std::mt19937_64 rng(ctx.seed);
  std::shuffle(slow.begin(), slow.end(), rng);  // which users are slow is the seed's choice
  // With --fault, the users' connections go through a TCP fault proxy and the broadcast
  // requests (and their answers) through a UDP one.
  // The proxy's sockets get the scenario's buffer size: the slow users' backpressure must
  // still reach the server's pushes, not end in the proxy's larger default buffers.
  const auto tcp_route = fault::route_tcp(ctx, server.tcp_port(), "tcp",
                                          static_cast<int>(p.integer("socket-buffer-bytes")));
  const auto udp_route = fault::route_udp(ctx, server.udp_port());
  Clients clients(tcp_route.port(), n_clients, slow,
                  static_cast<int>(p.integer("socket-buffer-bytes")),
                  static_cast<std::size_t>(p.integer("slow-read-bytes")),
                  milliseconds(p.integer("slow-read-interval-ms")));
  if (!server.wait_for_clients(static_cast<std::size_t>(clients.connected()), milliseconds(2000))) {
    ctx.report.note("not every client was accepted within 2 s");
  }
  ctx.report.metric("clients_connected", clients.connected());

  // The caller: one UDP request at a time, waiting (bounded) for the server's answer.
  const int baseline = sampler.sample_now();
  if (baseline < 0) faultline::resource_tally().note_fd(errno, "opendir /proc/self/task");
  const int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (udp < 0) faultline::resource_tally().note_fd(errno, "socket (broadcast-leak caller)");
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(udp_route.port());
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::uint64_t answered_ok = 0, answered_timeout = 0, unanswered = 0;
  const int reply_wait_ms = static_cast<int>(p.integer("deadline-ms")) + 2000;
  for (int i = 0; i < p.integer("broadcasts") && !faultline::resource_tally().exhausted(); ++i) {
    const std::string request = fmt::format("broadcast {} to all users", i + 1);
    ::sendto(udp, request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    pollfd pfd{udp, POLLIN, 0};
    char reply[16] = {};
    if (::poll(&pfd, 1, reply_wait_ms) > 0 && ::recv(udp, reply, sizeof reply - 1, 0) > 0) {
      (std::string_view(reply) == "ok" ? answered_ok : answered_timeout)++;
    } else {
      ++unanswered;
    }
    std::this_thread::sleep_for(milliseconds(p.integer("interval-ms")));
  }
  if (udp >= 0) ::close(udp);
  std::this_thread::sleep_for(milliseconds(p.integer("grace-ms")));
  const int final_count = sampler.sample_now();
  const int peak = sampler.peak();
  sampler.stop();

  const auto& s = server.stats();
  const std::uint64_t timed_out = s.timed_out.load();
  for (const auto& sample : sampler.samples()) {
    ctx.report.sample("threads", sample.t_seconds, sample.threads);
  }
  ctx.report.metric("threads_baseline", baseline);
  ctx.report.metric("threads_peak", peak);
  ctx.report.metric("threads_final", final_count);
  ctx.report.metric("broadcasts_completed", static_cast<double>(s.completed.load()));
  ctx.report.metric("broadcasts_timed_out", static_cast<double>(timed_out));
  ctx.report.metric("replies_ok", static_cast<double>(answered_ok));
  ctx.report.metric("replies_timeout", static_cast<double>(answered_timeout));
  ctx.report.metric("replies_missing", static_cast<double>(unanswered));
  ctx.report.metric("pushes_ok", static_cast<double>(s.pushes_ok.load()));
  ctx.report.metric("pushes_abandoned", static_cast<double>(s.pushes_abandoned.load()));
  ctx.report.metric("clients_dropped", static_cast<double>(s.clients_dropped.load()));
  ctx.report.metric("client_bytes_read", static_cast<double>(clients.bytes()), "B");
  const int leak = std::max(0, final_count - baseline);
  ctx.report.observation(
      "thread_leak", static_cast<std::uint64_t>(leak),
      fmt::format("threads: baseline {}, peak {}, final {} after {} ms grace; {} of {} broadcasts "
                  "timed out",
                  baseline, peak, final_count, p.integer("grace-ms"), timed_out,
                  s.requests.load()));

  // Shut down without hanging: pushes are cut short; a worker blocked on its completion channel
  // stays blocked and ends with the process.
  server.stop();
  ctx.report.metric("threads_after_stop", count_threads());
  fault::report_route(ctx, tcp_route);
  fault::report_route(ctx, udp_route);
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  return faultline::scenario_main(argc, argv, kSpec, run);
}
