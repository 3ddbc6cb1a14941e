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
// timeout fired, and checks that every completed reply is right (corrupt_output).
#include <fmt/format.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "harness/fault/route.h"
#include "harness/nemesis/scenario_server.h"
#include "harness/probe/histogram.h"
#include "harness/probe/perturb.h"
#include "harness/probe/resource_tally.h"
#include "harness/scenario/scenario_api.h"
#include "servers/rpc/client.h"
#include "servers/rpc/messages.h"
#include "servers/rpc/server.h"

namespace {

using faultline::Context;
using faultline::LatencyHistogram;
using namespace faultline::rpc;
using Clock = std::chrono::steady_clock;

const faultline::ScenarioSpec kSpec{
    "rpc-timeout-race",
    "000",
    "async RPC reply written by the client's reader after the caller timed out",
    "data_race in the reply decode path (TSan); stack-use-after-return for buggy-stack (ASan)",
    {"buggy", "fixed", "buggy-stack"},
    {
        {"callers",
         faultline::ParamType::kInt,
         "1000",
         "concurrent callers (threads, as the seed's goroutines); each dials and makes one call",
         1,
         4000,
         {}},
        {"timeout-us",
         faultline::ParamType::kInt,
         "1000",
         "per-call timeout in microseconds (seed: 1 ms)",
         1,
         10'000'000,
         {}},
        {"a",
         faultline::ParamType::kInt,
         "10",
         "dividend of Arith.Divide (seed: 10)",
         -1e9,
         1e9,
         {}},
        {"b",
         faultline::ParamType::kInt,
         "3",
         "divisor of Arith.Divide (seed: 3; 0 gives the "
         "'divide by zero' error)",
         -1e9,
         1e9,
         {}},
        {"server-threads", faultline::ParamType::kInt, "2", "server io_context threads", 1, 64, {}},
        {"client-threads",
         faultline::ParamType::kInt,
         "2",
         "client io_context threads (they run every connection's reader)",
         1,
         64,
         {}},
        {"decode-delay-us",
         faultline::ParamType::kInt,
         "0",
         "fault: before decoding a response, the reader stalls a seeded uniform 0..N us (a slow "
         "decode under load, as gob's was; widens the window, 0 = off)",
         0,
         100'000,
         {}},
        {"close",
         faultline::ParamType::kString,
         "graceful",
         "how the caller closes its client after the call: graceful (half-close, responses on "
         "their way are still read) or hard (Go's Client.Close: unread responses are lost)",
         {},
         {},
         {"graceful", "hard"}},
        {"grace-ms",
         faultline::ParamType::kInt,
         "1000",
         "after the last caller returned, how long late responses may still land, in ms",
         0,
         60'000,
         {}},
        faultline::nemesis::server_param(),
    },
    {"process", "tcp"},
    {
        faultline::expect_incident("buggy", "tsan", {{"data_race", "decode_divide_reply"}},
                                   {"decoded_after_timeout>0"}),
        faultline::expect_nothing("buggy", "asan",
                                  "the reply is a heap object the caller still owns: nothing is "
                                  "freed, so ASan has nothing to see (buggy-stack is for ASan)"),
        faultline::expect_nothing("buggy", "none",
                                  "no detector: only TSan sees the late write into the reply",
                                  {{"corrupt_output"}}),
        faultline::expect_incident("buggy-stack", "asan",
                                   {{"stack_use_after_return", "decode_divide_reply"}},
                                   {"decoded_after_timeout>0"}),
        // TSan does not watch dead stack frames, but the late write into one kills the
        // process in the decoder: measured, TSan's SEGV report in every run (docs/score.md).
        faultline::expect_incident(
            "buggy-stack", "tsan",
            {{"segv", "decode_divide_reply"}, {"data_race", "decode_divide_reply"}},
            {"decoded_after_timeout>0"}),
        // Without a detector the late write lands in a dead frame that another call reuses:
        // measured, it kills the process with SIGSEGV (docs/score.md).
        faultline::expect_incident("buggy-stack", "none", {{"crash"}, {"corrupt_output"}},
                                   {"decoded_after_timeout>0"}),
        // The window: a reply arrived after its caller had timed out and was dropped undecoded.
        faultline::expect_clean("fixed", "*", {"late_replies_dropped>0"}),
    }};

enum class Mode { kBuggy, kFixed, kBuggyStack };

// A countdown that blocked threads wait on asleep (std::latch spins first, and a thousand
// spinning threads starve the thread that is still creating the others).
class Countdown {
 public:
  explicit Countdown(std::size_t n) : left_(n) {}
  void count_down() {
    std::lock_guard lock(mu_);
    if (left_ > 0 && --left_ == 0) cv_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return left_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::size_t left_;
};

// What one caller saw; each caller writes only its own slot, the main thread reads them after
// the join (the per-thread records of a wrk-style load generator).
struct CallerResult {
  // The caller's client stays referenced until the end of the run, as Go's garbage collector
  // keeps a client the reader still uses: dropping it here would post a close to the connection's
  // strand after the caller's read, an ordering the incident does not have.
  std::shared_ptr<Client> client;
  enum Kind { kNone, kOk, kTimedOut, kFailed } kind = kNone;
  std::int64_t latency_ns = -1;     // go() to completion, completed calls only
  std::int64_t timer_late_ns = -1;  // wake-up time minus the timeout's due time, timeouts only
  bool reply_wrong = false;         // a completed OK reply with the wrong quotient
  std::size_t entries_read = 0;     // quotient entries the caller saw
};

struct Shared {
  boost::asio::io_context& client_io;
  std::uint64_t seed;
  std::int64_t decode_delay_us;
  bool hard_close;
  std::uint16_t port;
  Mode mode;
  DivideArgs args;
  Clock::duration timeout;
  std::atomic<std::uint64_t> decodes{0};  // responses the readers decoded (relaxed: a tally)
  std::atomic<int> in_flight{0};
  std::atomic<int> peak_in_flight{0};
};

void note_in_flight(Shared& sh, int delta) {
  int now = sh.in_flight.fetch_add(delta) + delta;
  int peak = sh.peak_in_flight.load();
  while (now > peak && !sh.peak_in_flight.compare_exchange_weak(peak, now)) {
  }
}

// The named fault "decode-delay": the reader stalls before it decodes, as a slow decoder on a
// loaded machine does; the stall of caller i is a pure function of the run's seed and i.
Decoder with_decode_delay(Shared& sh, std::size_t caller, Decoder inner) {
  std::uint64_t max = static_cast<std::uint64_t>(std::max<std::int64_t>(0, sh.decode_delay_us));
  std::uint64_t x = sh.seed * 0x9E3779B97F4A7C15ull + caller + 1;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  x ^= x >> 31;
  auto stall = std::chrono::microseconds(static_cast<std::int64_t>(x % (max + 1)));
  return [stall, &sh, inner = std::move(inner)](const std::string& body) {
    sh.decodes.fetch_add(1, std::memory_order_relaxed);
    if (stall.count() > 0) std::this_thread::sleep_for(stall);
    inner(body);
  };
}

// Seed 000's doRPC: dial, Go(), select on completion vs the timeout, close, read the reply.
void do_rpc(Shared& sh, std::size_t id, CallerResult& out) {
  std::shared_ptr<Client>& client = out.client;
  try {
    client = Client::dial(sh.client_io, sh.port);
  } catch (const boost::system::system_error& e) {
    // Out of fds (Asio's no_descriptors is EMFILE) is the run's symptom, not a failed call.
    faultline::resource_tally().note_fd(e.code().value(), "socket/connect (Client::dial)");
    out.kind = CallerResult::kFailed;
    return;
  } catch (const std::exception&) {
    out.kind = CallerResult::kFailed;
    return;
  }
  DivideReply on_stack;                            // buggy-stack: the seed's res, in this frame
  auto on_heap = std::make_shared<DivideReply>();  // buggy: res := new(Result), kept alive
  auto owned = std::make_shared<DivideReply>();    // fixed: the call's own reply
  Decoder decode;
  if (sh.mode == Mode::kFixed) {
    // FIX: the call owns its reply; the reader never writes anything the caller can see.
    decode = [owned](const std::string& body) { decode_divide_reply(body, *owned); };
  } else if (sh.mode == Mode::kBuggyStack) {
    // BUG: the reader decodes into the caller's stack frame, which dies when doRPC returns.
    decode = [res = &on_stack](const std::string& body) { decode_divide_reply(body, *res); };
  } else {
    // BUG: the reader decodes into the caller's own reply object.
    decode = [on_heap](const std::string& body) { decode_divide_reply(body, *on_heap); };
  }
  const DivideReply& res =
      sh.mode == Mode::kFixed ? *owned : (sh.mode == Mode::kBuggyStack ? on_stack : *on_heap);

  auto t0 = Clock::now();
  auto call = client->go(kDivideMethod, encode_divide_args(sh.args),
                         with_decode_delay(sh, id, std::move(decode)));
  note_in_flight(sh, +1);
  auto due = t0 + sh.timeout;
  bool completed = call->wait_until(due);
  auto woke = Clock::now();
  note_in_flight(sh, -1);
  if (completed) {
    auto r = call->result();
    out.latency_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(woke - t0).count();
    out.kind = (r.outcome == CallOutcome::kReplied && r.status == Status::kOk)
                   ? CallerResult::kOk
                   : CallerResult::kFailed;
  } else {
    out.kind = CallerResult::kTimedOut;
    out.timer_late_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(woke - due).count();
    if (sh.mode == Mode::kFixed) {
      // FIX: take the call back from the reader under the client's lock: a late response is
      // dropped; if the reader already took it, the caller simply never looks at the reply.
      client->forget(*call);
    }
  }
  // The seed closes the client on both paths.
  if (sh.hard_close) {
    client->close();
  } else {
    client->close_graceful();
  }

  // The seed reads res.Quotient after its select, whichever case fired.
  // Timed out or not, the reader may still be decoding into res: a delay here moves the read.
  FAULTLINE_PERTURB("rpc-timeout-race.caller.before-read");
  bool read_reply = sh.mode == Mode::kFixed ? completed : true;  // BUG: reads unconditionally
  if (read_reply) {                                              // FIX: only a completed reply
    std::int64_t quo = -1;
    std::int64_t rem = -1;
    out.entries_read = res.quotient.size();  // the seed's len(res.Quotient)
    for (const auto& [k, v] : res.quotient) {
      if (k == "Quo") quo = v;
      if (k == "Rem") rem = v;
    }
    if (out.kind == CallerResult::kOk && sh.args.b != 0 &&
        (quo != sh.args.a / sh.args.b || rem != sh.args.a % sh.args.b)) {
      out.reply_wrong = true;
    }
  }
}

int run(Context& ctx) {
  const Mode mode = ctx.is("fixed")         ? Mode::kFixed
                    : ctx.is("buggy-stack") ? Mode::kBuggyStack
                                            : Mode::kBuggy;
  const auto callers = static_cast<std::size_t>(ctx.params.integer("callers"));
  const auto client_threads = static_cast<int>(ctx.params.integer("client-threads"));
  const auto grace = std::chrono::milliseconds(ctx.params.integer("grace-ms"));

  // The server: threads of this process (the default, and the measured figures), or the
  // standalone faultline-rpc-server (the same Arith.Divide) under the nemesis.
  std::optional<Server> server;
  std::optional<faultline::nemesis::ServerUnderNemesis> server_process;
  std::uint16_t port = 0;
  if (faultline::nemesis::wants_server_process(ctx)) {
    server_process.emplace(
        ctx, "faultline-rpc-server",
        std::vector<std::string>{"--threads", ctx.params.text("server-threads")});
    port = server_process->port();
  } else {
    server.emplace(ServerOptions{
        "127.0.0.1", 0, static_cast<int>(ctx.params.integer("server-threads")), kMaxFrameBytes});
    register_arith(*server);
    server->start();
    port = server->port();
    ctx.report.note(fmt::format("server listening on 127.0.0.1:{}", port));
  }
  // With --fault (TCP), the callers dial the fault proxy in front of the server.
  const auto route = faultline::fault::route_tcp(ctx, port);
  if (ctx.params.integer("decode-delay-us") > 0) {
    ctx.report.note(fmt::format("fault decode-delay on: the reader stalls 0..{} us before decoding",
                                ctx.params.integer("decode-delay-us")));
  }

  boost::asio::io_context client_io;
  auto work = boost::asio::make_work_guard(client_io);
  std::vector<std::thread> io_threads;
  for (int i = 0; i < client_threads; ++i) {
    if (!faultline::start_thread(io_threads, [&] { client_io.run(); })) break;
  }

  Shared sh{client_io,
            ctx.seed,
            ctx.params.integer("decode-delay-us"),
            ctx.params.text("close") == "hard",
            route.port(),
            mode,
            {ctx.params.integer("a"), ctx.params.integer("b")},
            std::chrono::microseconds(ctx.params.integer("timeout-us")),
            {},
            {}};
  std::vector<CallerResult> results(callers);
  // All callers start together (the seed's burst of goroutines). Each stays alive after its
  // doRPC returned until every late response had its chance to land: a returned goroutine's
  // stack is gone, a returned thread's would be unmapped, and the incident needs the former.
  Countdown start_gate(1);
  Countdown finished(callers);
  Countdown release(1);
  std::vector<std::thread> caller_threads;
  caller_threads.reserve(callers);
  auto t_spawn = Clock::now();
  for (std::size_t i = 0; i < callers; ++i) {
    const bool started = faultline::start_thread(caller_threads, [&, i] {
      start_gate.wait();
      do_rpc(sh, i, results[i]);
      finished.count_down();
      release.wait();
    });
    if (!started) {  // the thread limit: the callers that never started count as finished
      for (std::size_t missing = i; missing < callers; ++missing) finished.count_down();
      break;
    }
  }
  auto t_start = Clock::now();
  ctx.report.metric("spawn_ms",
                    std::chrono::duration<double, std::milli>(t_start - t_spawn).count(), "ms");
  if (server_process) server_process->start();  // the nemesis's t = 0: the burst begins
  start_gate.count_down();
  finished.wait();  // every doRPC is bounded: a loopback dial plus the timeout
  auto t_callers = Clock::now();

  // Let the readers finish what they already hold: run() returns once every connection is
  // closed and drained; the grace period bounds the wait.
  work.reset();
  auto grace_end = Clock::now() + grace;
  while (!client_io.stopped() && Clock::now() < grace_end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  bool drained = client_io.stopped();
  client_io.stop();
  for (auto& t : io_threads) t.join();
  release.count_down();
  for (auto& t : caller_threads) t.join();
  std::uint64_t late_dropped = 0;
  for (auto& r : results) {
    if (r.client) late_dropped += r.client->stats().late_replies_dropped;
  }
  auto t_joined = Clock::now();
  if (server) server->stop();
  if (server_process) server_process->stop();

  LatencyHistogram latency;
  LatencyHistogram timer_late;
  std::uint64_t ok = 0, timed_out = 0, failed = 0, wrong = 0, reads = 0;
  for (const auto& r : results) {
    if (r.kind == CallerResult::kOk) ++ok;
    if (r.kind == CallerResult::kTimedOut) ++timed_out;
    if (r.kind == CallerResult::kFailed) ++failed;
    if (r.reply_wrong) ++wrong;
    reads += r.entries_read;
    if (r.latency_ns >= 0) latency.record(static_cast<std::uint64_t>(r.latency_ns));
    if (r.timer_late_ns >= 0) timer_late.record(static_cast<std::uint64_t>(r.timer_late_ns));
  }
  auto ms = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
  auto& rep = ctx.report;
  rep.metric("calls_ok", static_cast<double>(ok), "calls");
  rep.metric("calls_timed_out", static_cast<double>(timed_out), "calls");
  rep.metric("calls_failed", static_cast<double>(failed), "calls");
  rep.metric("peak_calls_in_flight", sh.peak_in_flight.load(), "calls");
  rep.metric("responses_decoded", static_cast<double>(sh.decodes.load()), "responses");
  rep.metric("decoded_after_timeout", static_cast<double>(sh.decodes.load() - ok), "responses");
  rep.metric("late_replies_dropped", static_cast<double>(late_dropped), "responses");
  rep.metric("quotient_entries_read", static_cast<double>(reads), "entries");
  rep.metric("callers_ms", ms(t_callers - t_start), "ms");
  rep.metric("drain_and_join_ms", ms(t_joined - t_callers), "ms");
  rep.metric("readers_drained", drained ? 1 : 0, "bool");
  rep.histogram("latency", latency, 1000.0, "us");
  rep.histogram("timeout_late", timer_late, 1000.0, "us");
  if (server) {
    rep.metric("server_requests", static_cast<double>(server->stats().requests), "requests");
  }
  rep.observation(
      "corrupt_output", wrong,
      wrong ? "completed OK replies with a wrong quotient" : "every completed reply right");
  faultline::fault::report_route(ctx, route);
  rep.note(fmt::format("{} callers: {} ok, {} timed out, {} failed in {:.0f} ms", callers, ok,
                       timed_out, failed, ms(t_callers - t_start)));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return faultline::scenario_main(argc, argv, kSpec, run);
}
