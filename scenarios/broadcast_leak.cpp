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
// Oracle: the server's thread count from /proc/<pid>/task, sampled through the run: baseline
// before the first broadcast, peak, and final after a grace period; `thread_leak` = final -
// baseline, next to the number of timed-out broadcasts. In process the pid is this process's
// (clients' threads included in both counts); with the server in a process of its own
// (--nemesis, server=process) it is the server process's, asked at every sample, so after a kill
// the count is the new incarnation's: a restart ends the leaked threads with their process.
// The leak's time (first_symptom_s) is its first sample: the first of the samples that stayed above
// the baseline to the final count, once the caller had read a timeout answer (leak_first_seen in
// servers/broadcast/caller.h); untimed when no timeout answer came.
// Defaults are scaled: the seed's 5 s deadline would make one run last about a minute; the
// deadline is one flag away (deadline-ms=5000, with slower clients to still outlast it).
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "harness/fault/route.h"
#include "harness/nemesis/scenario_server.h"
#include "harness/probe/resource_tally.h"
#include "harness/probe/thread_sampler.h"
#include "harness/scenario/scenario_api.h"
#include "harness/scenario/server_counters.h"
#include "servers/broadcast/broadcast_server.h"
#include "servers/broadcast/caller.h"
#include "servers/broadcast/users.h"

namespace {
using namespace faultline;
using namespace faultline::broadcast;
using std::chrono::milliseconds;

const ScenarioSpec kSpec{
    .id = "broadcast-leak",
    .seed = "004",
    .title = "broadcast worker blocks forever on a rendezvous channel after its handler timed out",
    .oracle = "thread_leak > 0: thread count after the grace period above the baseline",
    .variants = {"buggy", "fixed"},
    .params =
        {int_param("clients", 32, 1, 1000, "long TCP connections"),
         int_param("slow-clients", 4, 0, 1000,
                   "of those, clients that read slowly (chosen with the seed)"),
         int_param("broadcasts", 8, 1, 1000, "UDP broadcast requests"),
         int_param("interval-ms", 100, 0, 60000, "pause between a reply and the next request, ms"),
         int_param("deadline-ms", 300, 1, 60000, "Handle's deadline, ms (the seed's: 5000)"),
         int_param("push-bytes", 65536, 1, 16777216, "payload of each pushed message, bytes"),
         int_param("slow-read-bytes", 4096, 1, 1048576,
                   "a slow client reads this much per turn, bytes"),
         int_param("slow-read-interval-ms", 20, 1, 10000, "time between a slow client's reads, ms"),
         int_param("socket-buffer-bytes", 16384, 0, 16777216,
                   "SO_SNDBUF on the server's connections and SO_RCVBUF on the clients', "
                   "bytes"),
         int_param("grace-ms", 500, 0, 60000,
                   "wait after the last broadcast before the final count, ms"),
         open_loop_rate_param("broadcast requests go out, answered or not (unset: one at a time, "
                              "interval-ms apart)",
                              1e5),
         nemesis::server_param()},
    .faults = {"tcp", "udp", "process"},
    .expectations =
        {
            faultline::expect_incident("buggy", "*", {{"thread_leak"}}, {"broadcasts_timed_out>0"}),
            // The window: a broadcast passed its deadline with a worker still pushing.
            faultline::expect_clean("fixed", "*", {"broadcasts_timed_out>0"}),
        },
};

// The server's options: the seed's Handle, its channel and its worker. TCP and UDP listen on one
// port number, so a server process the nemesis restarts takes both back.
BroadcastOptions handle_options(const Context& ctx, std::uint16_t port) {
  const auto& p = ctx.params;
  BroadcastOptions options;
  options.deadline = p.ms("deadline-ms");
  options.push_bytes = p.count("push-bytes");
  options.client_send_buffer = p.number("socket-buffer-bytes");
  options.port = port;
  if (ctx.is("buggy")) {
    options.completion_capacity = 0;           // BUG: make(chan struct{}, 0): a late send blocks
    options.worker_stops_at_deadline = false;  // BUG: t.run() ignores the context
  } else {
    options.completion_capacity = 1;          // FIX: make(chan struct{}, 1): a late send completes
    options.worker_stops_at_deadline = true;  // FIX: the worker stops pushing at the deadline
  }
  return options;
}

int run(Context& ctx) {
  const auto& p = ctx.params;
  nemesis::RunningServer server(ctx);
  ThreadSampler sampler([&server] { return server.pid(); }, milliseconds(10));
  sampler.start();
  ctx.report.metrics({{"tcp_port", server.port()}, {"udp_port", server.port()}});

  const auto slow = choose_slow(p.number("clients"), p.number("slow-clients"), ctx.seed);
  // With --fault, the users' connections go through a TCP fault proxy and the broadcast
  // requests (and their answers) through a UDP one.
  // The proxy's sockets get the scenario's buffer size: the slow users' backpressure must
  // still reach the server's pushes, not end in the proxy's larger default buffers.
  const auto tcp_route =
      fault::route_tcp(ctx, server.port(), "tcp", p.number("socket-buffer-bytes"));
  const auto udp_route = fault::route_udp(ctx, server.port());
  Users users(tcp_route.port(), slow, p.number("socket-buffer-bytes"), p.count("slow-read-bytes"),
              p.ms("slow-read-interval-ms"));
  if (!server.wait_for("clients_accepted", users.connected(), milliseconds(2000))) {
    ctx.report.note("not every client was accepted within 2 s");
  }
  ctx.report.metric("clients_connected", users.connected());

  const int baseline = sampler.sample_now();
  if (baseline < 0) faultline::resource_tally().note_fd(errno, "opendir /proc/<pid>/task");
  const CallerOptions calls =
      caller_for(udp_route.port(), p.number("broadcasts"), p.ms("deadline-ms"), p.ms("interval-ms"),
                 p.optional_real("rate"));
  server.start();  // the nemesis's t = 0: the broadcasts begin
  const Replies replies = call_broadcasts(calls);
  std::this_thread::sleep_for(p.ms("grace-ms"));
  const int final_count = sampler.sample_now();
  const auto leak_seen = leak_first_seen(sampler.samples(), baseline, replies.first_timeout);
  const int peak = sampler.peak();
  sampler.stop();

  const Measures s = server.measures();
  for (const auto& sample : sampler.samples()) {
    ctx.report.sample("threads", sample.t_seconds, sample.threads);
  }
  ctx.report.metrics(
      {{"threads_baseline", baseline}, {"threads_peak", peak}, {"threads_final", final_count}});
  ctx.report.metrics(s);
  ctx.report.metrics(replies.measures());
  if (calls.rate) ctx.report.metrics(replies.open_loop_measures(*calls.rate));
  ctx.report.load_latency(replies.uncorrected, calls.rate ? &replies.corrected : nullptr,
                          replies.over_time, 1e6, "ms");
  ctx.report.metric("client_bytes_read", static_cast<double>(users.bytes()), "B");
  const int leak = std::max(0, final_count - baseline);
  ctx.report.observation(
      "thread_leak", static_cast<std::uint64_t>(leak),
      fmt::format("threads{}: baseline {}, peak {}, final {} after {} ms grace; {} of {} "
                  "broadcasts timed out",
                  server.in_process() ? "" : " of the server process", baseline, peak, final_count,
                  p.integer("grace-ms"), measure_value(s, "broadcasts_timed_out"),
                  measure_value(s, "broadcast_requests")),
      leak_seen);

  // Pushes are cut short; a worker blocked on its completion channel stays blocked (the leak)
  // and ends with the process.
  server.stop();
  if (server.in_process()) ctx.report.metric("threads_after_stop", count_threads());
  fault::report_route(ctx, tcp_route);
  fault::report_route(ctx, udp_route);
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  // The server, in process or in a --serve process the nemesis pauses, kills and restarts.
  return scenario_main(argc, argv, kSpec, run, [](Context& ctx, const ServeOptions& serve) {
    auto server = std::make_unique<Hosted<BroadcastServer>>(handle_options(ctx, serve.port));
    server->server.start();
    return server;
  });
}
