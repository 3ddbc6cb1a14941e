// listener-lifetime (seed 002): an epoll reactor polls its listening socket by raw fd number
// while the listener's owner is reclaimed, which closes the socket; every later client is
// refused.
//
// Incident: a Go reactor network library took `listener.File().Fd()` and registered the integer
// with epoll. Nothing referenced the listener after Run() started, so the first garbage
// collection ran the finalizer `(*netFD).Close` and closed the socket. A few seconds into a
// stress test, every new client got "connect: connection refused" and netstat showed the port
// no longer listening.
// Root cause: the reactor kept a name for the socket (the fd number), not the socket: ownership
// ended while the name was still in use. Once closed, the number can be handed by the kernel to
// the next socket the process opens, so the reactor may also be looking at someone else's socket.
// Fix (the seed's): the reactor holds the listener itself, so it lives as long as the reactor.
// C++ analogue: `Listener` closes its socket in its destructor; `DeferredReclaimer` stands in for
// GC + finalizer and destroys what it was handed on its own thread when a cycle runs.
//
// Timeline of the bad interleaving (buggy):
//   main       listener = Listener::open(); Reactor(listener->fd())   reactor polls fd L
//   main       reclaimer.adopt(listener)       the program drops its last reference
//   client     burst 1: C connects, M frames each, all echoed
//   main       reclaimer.collect()             like the first GC, after the load started
//   finalizer  ~Listener(): close(L)           the kernel drops L from the epoll set; port closed
//   client     burst 2..B: connect() -> ECONNREFUSED (queued ones: ECONNRESET)
//   client     socket() -> L                   the number is reused; the reactor's listener
//                                              check now finds a socket that is not listening
//
// Oracle: the client's refused/reset connects (`conn_refused`), and whether the reactor's listener
// fd named some other socket (`fd_reuse`, checked by inode and SO_ACCEPTCONN). No sanitizer sees
// this incident: the close is a perfectly valid close. With the server in a process of its own
// (--nemesis, server=process) a burst that overlaps a time the nemesis had it down counts its
// refusals as `conn_refused_server_down`, not as the incident; fd_reuse cannot happen there (the
// clients' sockets are in another process), so conn_refused is the whole oracle.
// Each observation carries when it was first seen (the record's first_symptom_s): a refused or
// reset connect when the burst client got the error, fd_reuse when the reactor's listener check
// first found another socket under the number (in process only; untimed in a server process),
// a corrupt frame when the client checked the reply.
#include <fmt/format.h>

#include "harness/fault/route.h"
#include "harness/nemesis/scenario_server.h"
#include "harness/scenario/scenario_api.h"
#include "harness/scenario/server_counters.h"
#include "servers/epoll/burst_client.h"
#include "servers/epoll/deferred_reclaimer.h"
#include "servers/epoll/listener.h"
#include "servers/epoll/reactor.h"

namespace {
using namespace faultline;
using epoll::DeferredReclaimer;
using epoll::Listener;
using epoll::Reactor;

const ScenarioSpec kSpec{
    .id = "listener-lifetime",
    .seed = "002",
    .title = "epoll reactor polls a listener fd whose owner was reclaimed (closed)",
    .oracle = "conn_refused > 0 during client bursts after the reclaim (and fd_reuse)",
    .variants = {"buggy", "fixed"},
    .params = {int_param("bursts", 5, 2, 1000, "bursts of connections"),
               int_param("connections", 64, 1, 4000, "connections per burst, opened at once"),
               int_param("frames", 8, 1, 10000, "frames per connection"),
               int_param("max-frame-bytes", 256, 1, 65536,
                         "payload size is drawn from 1..this, bytes"),
               int_param("client-threads", 4, 1, 64, "client threads sharing each burst"),
               int_param("reclaim-after-burst", 1, 1, 1000,
                         "the reclaimer's cycle is requested after this many bursts"),
               int_param("gap-ms", 50, 0, 10000, "pause between bursts, ms"),
               int_param("connect-timeout-ms", 1000, 1, 60000,
                         "a connect not done by then counts as timed out, ms"),
               int_param("io-timeout-ms", 2000, 1, 60000,
                         "a reply not read by then counts as lost, ms"),
               open_loop_rate_param("frames go out on each connection, due from the burst's "
                                    "connect (unset: each round after the last one's replies)",
                                    1e6),
               nemesis::server_param()},
    .faults = {"tcp", "process"},
    .expectations =
        {
            faultline::expect_incident("buggy", "tsan",
                                       {{"conn_refused"}, {"fd_reuse"}, {"data_race"}},
                                       {"reclaim_cycles>0"}),
            faultline::expect_incident("buggy", "*", {{"conn_refused"}, {"fd_reuse"}},
                                       {"reclaim_cycles>0"}),
            // The window: a collection cycle ran while the client's bursts were connecting.
            faultline::expect_clean("fixed", "*", {"reclaim_cycles>0"}),
        },
};

// The program that opened the listener and runs the reactor, in process or in a --serve process
// the nemesis pauses, kills and restarts. poke() is its garbage collection: the body asks for a
// cycle once the load made garbage (SIGUSR1 to a server process).
class ReactorProgram final : public ScenarioServer {
 public:
  ReactorProgram(Context& ctx, const ServeOptions& serve)
      : listener_(Listener::open("127.0.0.1", serve.port, /*reuse_port=*/false)),
        port_(listener_->port()),
        // Like the seed's Eventpoller.Run: the reactor registers the raw number and polls it.
        reactor_(listener_->fd(), {}) {
    if (ctx.is("buggy")) {
      reclaimer_.adopt(std::move(listener_));  // BUG: the owner goes to the "GC"; the number stays
    } else {
      reactor_.own(std::move(listener_));  // FIX: the reactor owns the listener for its whole life
    }
    reactor_.start();
  }
  std::uint16_t port() const override { return port_; }
  void poke() override { reclaimer_.collect(); }
  void stop() override {
    reclaimer_.wait_idle(1000);
    reactor_.stop();
  }
  Measures measures() const override {
    Measures m = reactor_.stats().measures();
    m.emplace_back("reclaimer_finalized", reclaimer_.finalized());
    return m;
  }
  const Reactor& reactor() const { return reactor_; }

 private:
  // Declared first, destroyed last: in the buggy variant it may still hold the listener.
  DeferredReclaimer reclaimer_;
  std::unique_ptr<Listener> listener_;
  const std::uint16_t port_;
  Reactor reactor_;
};

int run(Context& ctx) {
  nemesis::RunningServer server(ctx);
  ctx.report.metric("port", server.port());
  // With --fault (TCP), the burst client dials the fault proxy. A refused upstream connect
  // reaches the client as a reset, which the oracle counts with the refusals.
  const auto route = fault::route_tcp(ctx, server.port());
  const auto& p = ctx.params;
  int reclaim_cycles = 0;  // collections started during the load (the window, in both variants)
  server.start();          // the nemesis's t = 0
  const epoll::BurstResult result = epoll::run_bursts({
      .port = route.port(),
      .bursts = p.number("bursts"),
      .connections = p.number("connections"),
      .frames = p.number("frames"),
      .max_frame_bytes = p.number("max-frame-bytes"),
      .threads = p.number("client-threads"),
      .connect_timeout_ms = p.number("connect-timeout-ms"),
      .io_timeout_ms = p.number("io-timeout-ms"),
      .gap_ms = p.number("gap-ms"),
      .seed = ctx.seed,
      .rate = p.optional_real("rate"),
      .after_burst =
          [&](int burst) {
            // The load made garbage: a collection cycle runs soon, during the next burst (in
            // both variants; only what the reclaimer holds differs; a server down gets none).
            if (burst + 1 == p.number("reclaim-after-burst") && server.poke()) ++reclaim_cycles;
          },
  });
  server.stop();
  ctx.report.metrics(result.total.measures());
  const auto refusals = epoll::tally_refusals(
      result, [&](const epoll::BurstCounts& c) { return server.down_between(c.started, c.ended); });
  ctx.report.metrics(refusals.per_burst_measures);
  if (!server.in_process()) ctx.report.metric("conn_refused_server_down", refusals.excluded);
  if (p.has("rate")) ctx.report.metrics(result.open_loop_measures(p.real("rate")));
  ctx.report.load_latency(result.latency, p.has("rate") ? &result.latency_corrected : nullptr,
                          result.over_time, 1000.0, "us");
  const Measures s = server.measures();
  ctx.report.metrics(s);
  ctx.report.metric("reclaim_cycles", reclaim_cycles);
  ctx.report.observation("conn_refused", refusals.counted, refusals.per_burst, refusals.first);
  const auto* local = dynamic_cast<ReactorProgram*>(server.in_process());
  ctx.report.observation(
      "fd_reuse", static_cast<std::uint64_t>(measure_value(s, "server_fd_reuse")),
      fmt::format("distinct sockets found under the listener's fd number {}; "
                  "listener closed under the reactor {} time(s)",
                  local ? fmt::format("{}", local->reactor().listener_fd()) : "(in its process)",
                  measure_value(s, "server_listener_gone")),
      local ? local->reactor().stats().first_fd_reuse.when() : std::nullopt);
  ctx.report.observation("corrupt_frame", result.total.frames_corrupt, "",
                         result.total.first_corrupt);
  fault::report_route(ctx, route);
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  return scenario_main(argc, argv, kSpec, run, serve_with<ReactorProgram>());
}
