// rpc-timeout-race's callers as C++20 coroutines (Boost.Asio awaitables) on a few threads, instead
// of one OS thread each: the seed's thousand goroutines are cheap, a thousand threads are not
// (under TSan each pthread_create costs about 0.9 ms, docs/performance.md). Each caller is a
// coroutine that dials its own client, sends its call and races the call's completion against a
// steady_timer (asio's `||`), as the seed's select races Done against time.After. The callers
// run on an io_context of their own: never on the client's reader threads, so that a caller's
// read and a reader's decode stay on different threads, unordered, as in the seed.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "servers/rpc/caller_burst.h"
#include "servers/rpc/messages.h"

namespace faultline::rpc {

// go_and_wait as a coroutine: sends the call, then waits (suspended, the thread free for other
// callers) for whichever comes first, its completion or `timeout`, and records in `out` what
// the caller saw. Returns the call.
boost::asio::awaitable<std::shared_ptr<Call>> co_go_and_wait(Client& client, std::string method,
                                                             std::string body, Decoder decoder,
                                                             std::chrono::microseconds timeout,
                                                             InFlight& in_flight,
                                                             CallerResult& out);

// The caller's read of its reply: read_divide_reply. On a caller thread of run_coroutine_burst
// under TSan, the seed's len(res.Quotient) is read first in that thread's TSan fiber, entered
// with synchronisation and left without one: TSan orders that read after everything the thread
// did before it, and before nothing it does after. Without it, the other callers the same thread
// runs next (their closes and sends, posted to the readers' io_context) would order each read
// before every later decode, which a goroutine's read is not: Go's race detector keeps one clock
// per goroutine, TSan one per thread or fiber. Elsewhere (a caller thread of its own) it is
// read_divide_reply alone.
DivideReplyRead caller_read(const DivideReply& reply, const DivideArgs& args);

using CoroutineCall = std::function<boost::asio::awaitable<void>(std::size_t)>;

// run_caller_burst with coroutines: runs `at_start`, then starts `threads` threads (fewer if the
// thread limit refuses one) on an io_context where a launcher spawns the `callers` coroutines
// one after another (spawn_ms is only its own spawn); each runs call(i), at once or, with a
// `rate`, at its turn in the open-loop schedule (a timer, not a sleep). Once all returned, the
// readers get up to `grace`, then the fleet stops. A coroutine's exception is rethrown here, after
// the fleet stopped.
BurstTimes run_coroutine_burst(ClientFleet& fleet, std::size_t callers, int threads,
                               std::chrono::milliseconds grace, std::optional<double> rate,
                               const std::function<void()>& at_start, const CoroutineCall& call);

// How seed 000's callers run, and what each one calls.
struct CallerPlan {
  CallerPlan(bool coroutines_, int threads_, std::uint16_t port_, DivideArgs args_,
             std::chrono::microseconds timeout_, std::chrono::milliseconds grace_,
             std::optional<double> rate_)
      : coroutines(coroutines_),
        threads(threads_),
        port(port_),
        args(args_),
        timeout(timeout_),
        grace(grace_),
        rate(rate_) {}
  bool coroutines;  // coroutines on `threads` threads; else one thread per caller
  int threads;
  std::uint16_t port;  // each caller dials its own client here
  DivideArgs args;     // each caller calls Arith.Divide(args)
  std::chrono::microseconds timeout;
  std::chrono::milliseconds grace;  // for the readers, once every caller returned
  std::optional<double> rate;       // open loop: callers start at this rate
};

// One caller thread's doRPC: dial, then `on_stack`, the seed's res in the caller's frame (dead
// once this returns; the thread then waits for the end of the burst), the call and its select,
// then rpc.after(call). Laid out as the scenario's own do_rpc was, whose dead frame buggy-stack
// writes into (and TSan's build measured a SEGV from).
template <class Rpc, class Shared>
void seed_thread_caller(ClientFleet& fleet, CallerResult& out, const CallerPlan& plan,
                        InFlight& in_flight, Shared& shared, std::size_t i) {
  out.client = fleet.dial(plan.port);
  if (!out.client) return void(out.kind = CallerResult::kFailed);
  DivideReply on_stack;
  Rpc rpc{shared, i, out, &on_stack};
  auto call = go_and_wait(*out.client, kDivideMethod, encode_divide_args(plan.args), rpc.decoder(),
                          plan.timeout, in_flight, out);
  rpc.after(*call);
}

// Seed 000's doRPC for each of results.size() callers, as threads or as coroutines: dial (into
// results[i].client; a failed dial is kFailed), send the call with rpc.decoder(), select on its
// completion against plan.timeout, then rpc.after(call). The caller is the aggregate
// `Rpc rpc{shared, i, results[i], frame}`, the scenario's part (its BUG and FIX lines); `frame`
// is a reply in the caller thread's own stack frame, dead once the caller returned, and null
// for a coroutine (a coroutine's frame is a heap block, not a stack frame). A coroutine's `rpc`
// (and the replies it owns) lives until the burst is over, as Go's collector keeps res alive:
// freed after every reader stopped and the reads were synchronised with (caller_read).
template <class Rpc, class Shared>
BurstTimes run_seed_callers(ClientFleet& fleet, std::vector<CallerResult>& results,
                            const CallerPlan& plan, InFlight& in_flight,
                            const std::function<void()>& at_start, Shared& shared) {
  auto dial = [&](CallerResult& out) {
    out.client = fleet.dial(plan.port);
    if (!out.client) out.kind = CallerResult::kFailed;
    return out.client != nullptr;
  };
  if (plan.coroutines) {
    std::vector<std::unique_ptr<Rpc>> rpcs(results.size());
    return run_coroutine_burst(
        fleet, results.size(), plan.threads, plan.grace, plan.rate, at_start,
        [&](std::size_t i) -> boost::asio::awaitable<void> {
          CallerResult& out = results[i];
          Rpc& rpc = *(rpcs[i] = std::make_unique<Rpc>(Rpc{shared, i, out, nullptr}));
          if (!dial(out)) co_return;
          rpc.after(*co_await co_go_and_wait(*out.client, std::string(kDivideMethod),
                                             encode_divide_args(plan.args), rpc.decoder(),
                                             plan.timeout, in_flight, out));
        });
  }
  return run_caller_burst(fleet, results.size(), plan.grace, plan.rate, at_start,
                          [&](std::size_t i) {
                            seed_thread_caller<Rpc>(fleet, results[i], plan, in_flight, shared, i);
                          });
}

}  // namespace faultline::rpc
