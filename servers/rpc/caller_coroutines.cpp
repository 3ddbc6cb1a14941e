#include "servers/rpc/caller_coroutines.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "harness/probe/resource_tally.h"

#if defined(__SANITIZE_THREAD__)
#define FAULTLINE_RPC_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FAULTLINE_RPC_TSAN 1
#endif
#endif
#ifdef FAULTLINE_RPC_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace faultline::rpc {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

asio::awaitable<std::shared_ptr<Call>> co_go_and_wait(Client& client, std::string method,
                                                      std::string body, Decoder decoder,
                                                      std::chrono::microseconds timeout,
                                                      InFlight& in_flight, CallerResult& out) {
  using namespace asio::experimental::awaitable_operators;
  const auto executor = co_await asio::this_coro::executor;
  // The call's Done: the completion (on the reader's thread) sends into it; a send that finds
  // nobody waiting (the caller timed out) stays in its one slot, unread. Only this frame owns
  // it, so it never outlives the callers' io_context (the readers stop before that ends).
  using Done = asio::experimental::concurrent_channel<void(boost::system::error_code)>;
  auto done = std::make_shared<Done>(executor, 1);
  const auto t0 = Clock::now();
  out.called_at = t0;
  auto call = client.go(method, std::move(body), std::move(decoder), {},
                        [weak = std::weak_ptr<Done>(done)](const CallResult&) {
                          if (auto d = weak.lock()) d->try_send(boost::system::error_code{});
                        });
  in_flight.add(+1);
  const auto due = t0 + timeout;
  asio::steady_timer timer(executor, due);
  // The seed's select { case <-call.Done: case <-time.After(1 ms): }.
  const auto first =
      co_await (done->async_receive(asio::use_awaitable) || timer.async_wait(asio::use_awaitable));
  const auto woke = Clock::now();
  in_flight.add(-1);
  out.record_wait(first.index() == 0, *call, due, woke);
  co_return call;
}

namespace {

// This caller thread's TSan fiber for the callers' reads (null: not a coroutine caller thread,
// or not under TSan).
thread_local void* t_read_fiber = nullptr;
#ifdef FAULTLINE_RPC_TSAN
// What the fibers release after each read and the burst acquires once the readers stopped: the
// replies are freed after that, so a free is not mistaken for a write racing with a read.
char reads_done;
#endif

// One caller: its turn in the open-loop schedule (if any), then its call.
asio::awaitable<void> caller(std::size_t i, BurstTimes& times, const CoroutineCall& call) {
  if (times.schedule) {  // set before any caller thread started
    asio::steady_timer turn(co_await asio::this_coro::executor, times.schedule->due(i));
    co_await turn.async_wait(asio::use_awaitable);
    times.started[i] = Clock::now();
  }
  co_await call(i);
}

// Spawns the callers one after another, each on a strand of its own, yielding after each one:
// as the seed's loop of `go doRPC()` does, and so that the timers of the callers already waiting
// fire on time (asio checks its timers once per pass over its queue: a thousand callers
// spawned at once would delay the first timeout until all of them had dialled).
asio::awaitable<void> launch(asio::io_context& io, std::size_t callers, BurstTimes& times,
                             const CoroutineCall& call,
                             const std::function<void(std::exception_ptr)>& failed) {
  for (std::size_t i = 0; i < callers; ++i) {
    // A strand each: the select's two branches complete on whichever caller thread, and asio's
    // cancellation of the losing branch is not thread-safe (TSan found that race without it).
    asio::co_spawn(asio::make_strand(io), caller(i, times, call), failed);
    co_await asio::post(io, asio::use_awaitable);
  }
}

}  // namespace

DivideReplyRead caller_read(const DivideReply& reply, const DivideArgs& args) {
#ifdef FAULTLINE_RPC_TSAN
  if (void* fiber = t_read_fiber) {
    void* thread = __tsan_get_current_fiber();
    __tsan_switch_to_fiber(fiber, 0);  // synchronised: the read is after all the thread did
    const std::size_t entries = reply.quotient.size();  // len(res.Quotient)
    asm volatile("" : : "r"(entries));  // the read stays, though nothing here uses its value
    __tsan_release(&reads_done);
    __tsan_switch_to_fiber(thread, __tsan_switch_to_fiber_no_sync);  // and before nothing
  }
#endif
  return read_divide_reply(reply, args);
}

BurstTimes run_coroutine_burst(ClientFleet& fleet, std::size_t callers, int threads,
                               std::chrono::milliseconds grace, std::optional<double> rate,
                               const std::function<void()>& at_start, const CoroutineCall& call) {
  asio::io_context io(std::max(threads, 1));
  BurstTimes times;
  if (rate) times.started.resize(callers);
  std::mutex failed_mu;
  std::exception_ptr failed;
  const std::function<void(std::exception_ptr)> fail = [&](std::exception_ptr e) {
    std::lock_guard lock(failed_mu);
    if (e && !failed) failed = e;
  };
  const auto t_spawn = Clock::now();
  asio::co_spawn(io, launch(io, callers, times, call, fail), fail);
  const auto t_start = Clock::now();
  times.spawn = t_start - t_spawn;
  at_start();
  if (rate) times.schedule.emplace(*rate, Clock::now());  // before any caller runs
  std::vector<std::thread> pool;
  std::vector<void*> fibers(static_cast<std::size_t>(std::max(threads, 0)), nullptr);
  auto run_callers = [&io]([[maybe_unused]] void*& fiber) {
#ifdef FAULTLINE_RPC_TSAN
    fiber = t_read_fiber = __tsan_create_fiber(0);
#endif
    io.run();
    t_read_fiber = nullptr;
  };
  for (int t = 0; t < threads; ++t) {
    if (!faultline::start_thread(pool, [&, t] { run_callers(fibers[t]); })) break;
  }
  void* own_fiber = nullptr;
  if (pool.empty()) run_callers(own_fiber);  // the thread limit: this thread runs them
  for (auto& t : pool) t.join();             // io.run() returns once every caller returned
  const auto t_callers = Clock::now();
  times.callers = t_callers - t_start;
  times.drained = fleet.drain(grace);
  fleet.stop();
  times.drain_and_join = Clock::now() - t_callers;
#ifdef FAULTLINE_RPC_TSAN
  __tsan_acquire(&reads_done);
  fibers.push_back(own_fiber);
  for (void* f : fibers) {  // after the readers stopped: no decode can still race with a read
    if (f) __tsan_destroy_fiber(f);
  }
#endif
  if (failed) std::rethrow_exception(failed);
  return times;
}

}  // namespace faultline::rpc
