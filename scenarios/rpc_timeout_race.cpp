// rpc-timeout-race: an async RPC reply written by the client's reader after the caller timed out.
//
// Incident (seed 000, Go net/rpc, Spring Festival 2020): 1000 goroutines each dial the server,
// call Arith.Divide with client.Go(method, args, reply, nil), select on the call's Done channel
// against a 1 ms time.After, close the client on timeout and then read reply.Quotient. Containers
// restarted with "concurrent map read and map write": the client's input goroutine was still
// decoding the response into that very reply.
//
// Root cause: the reply object belongs to the caller, but Go's client writes it from its reader
// whenever the response arrives. Timing out in the caller (and even closing the client) does not
// take the call back from the reader, which may already have the response bytes in hand.
//
// Fix: the call owns its reply; on timeout the caller removes the pending call under the client's
// lock (Client::forget), so a late response is dropped undecoded; the caller reads a reply only
// after the call completed.
//
// Timeline of the bad interleaving (buggy):
//   caller thread                            client reader (connection strand)
//   go(Divide, decode into &res)             .
//   wait_until(t0 + 1 ms) -> timed out       response frame read; call taken out of pending
//   close()                                  decode_divide_reply(body, res): res.quotient[...] =
//   res.quotient.size() / iterate   <-race->   (TSan: data race; buggy-stack: the caller's frame
//   return (buggy-stack: res dies)              is gone, ASan: stack-use-after-return)
//
// Oracle: TSan's data race report in decode_divide_reply vs the caller's read (parsed by the
// driver); in buggy-stack ASan's stack-use-after-return. The scenario itself only measures:
// calls ok / timed out / failed, peak calls in flight, latency of completed calls, how late each
// timeout fired, and checks that every completed reply is right (corrupt_output, timed by the
// caller's read of the first wrong one).
//
// Callers (callers-as): coroutines on caller-threads threads by default, or one OS thread each.
// DoRpc is the caller's part of seed 000's doRPC (servers/rpc/caller_coroutines.h runs it as a
// thread or a coroutine, and does the dial, Go() and select): where the reader decodes, and after
// the select: forget (fixed), close, read the reply. buggy-stack's res must be in a caller's stack
// frame, so its callers are always threads (a coroutine's frame is a heap block).
#include <atomic>
#include <memory>
#include <vector>

#include "harness/fault/route.h"
#include "harness/nemesis/scenario_server.h"
#include "harness/probe/perturb.h"
#include "harness/scenario/scenario_api.h"
#include "servers/rpc/arith_server.h"
#include "servers/rpc/caller_coroutines.h"

namespace {
using namespace faultline;
using namespace faultline::rpc;

const ScenarioSpec kSpec{
    .id = "rpc-timeout-race",
    .seed = "000",
    .title = "async RPC reply written by the client's reader after the caller timed out",
    .oracle =
        "data_race in the reply decode path (TSan); stack-use-after-return for buggy-stack "
        "(ASan)",
    .variants = {"buggy", "fixed", "buggy-stack"},
    .params =
        {int_param("callers", 1000, 1, 4000,
                   "concurrent callers (the seed's goroutines); each dials and makes one call"),
         text_param("callers-as", "coroutines", {"coroutines", "threads"},
                    "coroutines on caller-threads threads, or a thread each (buggy-stack: always)"),
         int_param("caller-threads", 2, 1, 64, "threads running the caller coroutines"),
         int_param("timeout-us", 1000, 1, 10'000'000,
                   "per-call timeout in microseconds (seed: 1 ms)"),
         int_param("a", 10, -1e9, 1e9, "dividend of Arith.Divide (seed: 10)"),
         int_param("b", 3, -1e9, 1e9,
                   "divisor of Arith.Divide (seed: 3; 0 gives the 'divide by zero' error)"),
         int_param("server-threads", 2, 1, 64, "server io_context threads"),
         int_param("client-threads", 2, 1, 64,
                   "client io_context threads (they run every connection's reader)"),
         int_param("decode-delay-us", 0, 0, 100'000,
                   "fault: before decoding a response, the reader stalls a seeded uniform 0..N us "
                   "(a slow decode under load, as gob's was; widens the window, 0 = off)"),
         text_param("close", "graceful", {"graceful", "hard"},
                    "how the caller closes its client after the call: graceful (half-close, "
                    "responses on their way are still read) or hard (Go's Client.Close: unread "
                    "responses are lost)"),
         int_param("grace-ms", 1000, 0, 60'000,
                   "after the last caller returned, how long late responses may still land, in ms"),
         open_loop_rate_param("callers start (each dials and calls)", 1e6),
         nemesis::server_param()},
    .faults = {"process", "tcp"},
    .expectations = {
        expect_incident("buggy", "tsan", {{"data_race", "decode_divide_reply"}},
                        {"decoded_after_timeout>0"}),
        expect_nothing("buggy", "asan",
                       "the reply is a heap object the caller still owns: nothing is freed, so "
                       "ASan has nothing to see (buggy-stack is for ASan)"),
        expect_nothing("buggy", "none", "no detector: only TSan sees the late write into the reply",
                       {{"corrupt_output"}}),
        expect_incident("buggy-stack", "asan", {{"stack_use_after_return", "decode_divide_reply"}},
                        {"decoded_after_timeout>0"}),
        // TSan does not watch dead stack frames, but the late write into one kills the
        // process in the decoder: measured, TSan's SEGV report in every run (docs/score.md).
        expect_incident("buggy-stack", "tsan",
                        {{"segv", "decode_divide_reply"}, {"data_race", "decode_divide_reply"}},
                        {"decoded_after_timeout>0"}),
        // Without a detector the late write lands in a dead frame that another call reuses:
        // measured, it kills the process with SIGSEGV (docs/score.md).
        expect_incident("buggy-stack", "none", {{"crash"}, {"corrupt_output"}},
                        {"decoded_after_timeout>0"}),
        // The window: a reply arrived after its caller had timed out and was dropped undecoded.
        expect_clean("fixed", "*", {"late_replies_dropped>0"})}};

// What the callers share; read-only but for the two tallies.
struct Shared {
  Context& ctx;
  const bool fixed = ctx.is("fixed"), stack = ctx.is("buggy-stack");
  const bool hard_close = ctx.params.text("close") == "hard";
  const DivideArgs args{ctx.params.integer("a"), ctx.params.integer("b")};
  const std::int64_t decode_delay_us = ctx.params.integer("decode-delay-us");
  std::atomic<std::uint64_t> decodes{0};  // responses the readers decoded (relaxed: a tally)
  InFlight in_flight;
};

struct DoRpc {
  Shared& sh;
  const std::size_t id;
  CallerResult& out;
  DivideReply* on_stack;  // buggy-stack: the seed's res, in the frame
  std::shared_ptr<DivideReply> on_heap = std::make_shared<DivideReply>();  // buggy: new(Result)
  std::shared_ptr<DivideReply> owned = std::make_shared<DivideReply>();    // fixed: the call's
  Decoder decoder() const {  // what the reader decodes into (`keep`: a heap reply stays alive)
    DivideReply* res = on_heap.get();  // BUG: the reader decodes into the caller's own reply.
    if (sh.stack) res = on_stack;      // BUG: into the caller's frame, gone once it returns.
    if (sh.fixed) res = owned.get();   // FIX: the call owns its reply; never what the caller sees.
    return delayed_decoder(sh.ctx.seed, id, sh.decode_delay_us, sh.decodes,
                           [res, keep = sh.fixed ? owned : on_heap](const std::string& body) {
                             decode_divide_reply(body, *res);
                           });
  }
  void after(const Call& call) {
    const DivideReply& res = sh.fixed ? *owned : (sh.stack ? *on_stack : *on_heap);
    const bool timed_out = out.kind == CallerResult::kTimedOut;
    // FIX: take the call back from the reader under the client's lock: a late response is
    // dropped; if the reader already took it, the caller simply never looks at the reply.
    if (sh.fixed && timed_out) out.client->forget(call);
    sh.hard_close ? out.client->close() : out.client->close_graceful();  // the seed closes it
    // The seed reads res.Quotient after its select, whichever case fired.
    // Timed out or not, the reader may still be decoding into res: a delay here moves the read.
    FAULTLINE_PERTURB("rpc-timeout-race.caller.before-read");
    if (sh.fixed && timed_out) return;  // FIX: only a completed reply; BUG: reads it regardless
    const DivideReplyRead read = caller_read(res, sh.args);
    out.entries_read = read.entries;
    out.check_reply(read.right);
  }
};

int run(Context& ctx) {
  nemesis::RunningServer server(ctx);
  const auto route = fault::route_tcp(ctx, server.port());  // --fault: callers dial the proxy
  ClientFleet fleet(ctx.params.number("client-threads"));
  Shared sh{ctx};
  if (sh.decode_delay_us > 0) ctx.report.note(decode_delay_note(sh.decode_delay_us));
  std::vector<CallerResult> results(ctx.params.count("callers"));
  const CallerPlan plan(!sh.stack && ctx.params.text("callers-as") == "coroutines",
                        ctx.params.number("caller-threads"), route.port(), sh.args,
                        ctx.params.us("timeout-us"), ctx.params.ms("grace-ms"),
                        ctx.params.optional_real("rate"));
  const BurstTimes times = run_seed_callers<DoRpc>(
      fleet, results, plan, sh.in_flight, [&] { server.start(); }, sh);
  server.stop();
  auto* local = dynamic_cast<Hosted<ArithServer>*>(server.in_process());
  const CallerTally t = CallerTally::sum(results, sh.decodes.load(), sh.in_flight.peak(), times);
  ctx.report.metrics(t.measures(times));
  if (local) ctx.report.metric("server_requests", local->server.requests(), "requests");
  ctx.report.load_latency(t.latency, times.schedule ? &t.latency_corrected : nullptr, t.over_time,
                          1000.0, "us");
  ctx.report.histogram("timeout_late", t.timer_late, 1000.0, "us");
  ctx.report.observation("corrupt_output", t.wrong, t.wrong_detail(), t.first_wrong);
  fault::report_route(ctx, route);
  ctx.report.note(t.summary(times));
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  // The server: Arith.Divide, in process or (the nemesis's) this binary with --serve.
  return scenario_main(argc, argv, kSpec, run, [](Context& ctx, const ServeOptions& serve) {
    return std::make_unique<Hosted<ArithServer>>(serve.port, ctx.params.number("server-threads"));
  });
}
