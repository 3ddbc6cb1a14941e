// rpc-timeout-race's callers as coroutines: every caller runs once, on no more threads than
// asked for, all of them in flight at once; with a rate, each starts at its turn in the open-loop
// schedule; and seed 000's doRPC (dial, call, select, read) runs against a real Arith server.
#include "servers/rpc/caller_coroutines.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>
#include <set>
#include <thread>

#include "servers/rpc/arith_server.h"

namespace faultline::rpc {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

asio::awaitable<void> sleep_for(Clock::duration d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::use_awaitable);
}

TEST(CallerCoroutines, EveryCallerRunsOnceAllInFlightAtOnceOnTwoThreads) {
  ClientFleet fleet(1);
  constexpr std::size_t kCallers = 1000;
  std::vector<std::atomic<int>> runs(kCallers);
  std::atomic<bool> started{false};
  std::atomic<int> ran_before_start{0};
  InFlight in_flight;
  std::mutex mu;
  std::set<std::thread::id> threads;
  const BurstTimes times = run_coroutine_burst(
      fleet, kCallers, 2, 100ms, std::nullopt, [&] { started = true; },
      [&](std::size_t i) -> asio::awaitable<void> {
        if (!started) ++ran_before_start;
        {
          std::lock_guard lock(mu);
          threads.insert(std::this_thread::get_id());
        }
        ++runs[i];
        in_flight.add(+1);
        co_await sleep_for(300ms);  // long enough for the last caller to start meanwhile
        in_flight.add(-1);
      });
  for (std::size_t i = 0; i < kCallers; ++i) EXPECT_EQ(runs[i].load(), 1) << "caller " << i;
  EXPECT_EQ(ran_before_start.load(), 0);
  EXPECT_LE(threads.size(), 2u);
  EXPECT_EQ(in_flight.peak(), static_cast<int>(kCallers));  // a thousand waits, two threads
  EXPECT_FALSE(times.schedule.has_value());
  EXPECT_GE(times.callers, 300ms);
}

TEST(CallerCoroutines, WithARateEachCallerStartsAtItsTurnAndNotBefore) {
  ClientFleet fleet(1);
  std::vector<Clock::time_point> ran(10);
  const BurstTimes times = run_coroutine_burst(
      fleet, ran.size(), 2, 100ms, 200.0, [] {},
      [&](std::size_t i) -> asio::awaitable<void> {
        ran[i] = Clock::now();
        co_return;
      });
  ASSERT_TRUE(times.schedule.has_value());
  ASSERT_EQ(times.started.size(), ran.size());
  for (std::size_t i = 0; i < ran.size(); ++i) {
    EXPECT_GE(times.started[i], times.schedule->due(i)) << "caller " << i;
    EXPECT_GE(ran[i], times.started[i]) << "caller " << i;
  }
  // The last of ten at 200/s is due 45 ms after the first.
  EXPECT_GE(ran.back() - ran.front(), 40ms);
}

TEST(CallerCoroutines, ACallersExceptionComesOutOfTheBurst) {
  ClientFleet fleet(1);
  EXPECT_THROW(run_coroutine_burst(
                   fleet, 3, 2, 100ms, std::nullopt, [] {},
                   [](std::size_t i) -> asio::awaitable<void> {
                     if (i == 1) throw std::runtime_error("caller 1");
                     co_return;
                   }),
               std::runtime_error);
}

// A caller of seed 000's doRPC, as the scenario writes one: the reader decodes into a reply the
// caller owns, and the caller reads it after the select.
struct Shared {
  std::atomic<int> afters{0}, right{0};
  std::chrono::milliseconds decode_stall{0};  // the reader stalls this long before decoding
};
struct TestRpc {
  Shared& sh;
  const std::size_t id;
  CallerResult& out;
  DivideReply* frame;
  std::shared_ptr<DivideReply> reply = std::make_shared<DivideReply>();
  Decoder decoder() const {
    return [r = reply, stall = sh.decode_stall](const std::string& body) {
      std::this_thread::sleep_for(stall);
      decode_divide_reply(body, *r);
    };
  }
  void after(const Call&) {
    ++sh.afters;
    if (out.kind == CallerResult::kOk && caller_read(*reply, {10, 3}).right) ++sh.right;
  }
};

TEST(CallerCoroutines, SeedCallersDialCallAndReadEachReplyOnce) {
  ArithServer server(0, 2);
  for (const bool coroutines : {true, false}) {
    ClientFleet fleet(2);
    std::vector<CallerResult> results(100);
    Shared sh;
    InFlight in_flight;
    const CallerPlan plan(coroutines, 2, server.port(), {10, 3}, 5s, 100ms, std::nullopt);
    run_seed_callers<TestRpc>(
        fleet, results, plan, in_flight, [] {}, sh);
    EXPECT_EQ(sh.afters.load(), 100) << "coroutines " << coroutines;
    EXPECT_EQ(sh.right.load(), 100) << "coroutines " << coroutines;
    for (const auto& r : results) {
      EXPECT_EQ(r.kind, CallerResult::kOk);
      EXPECT_GE(r.latency_ns, 0);
    }
  }
}

TEST(CallerCoroutines, ACallSlowerThanItsTimeoutTimesOut) {
  ArithServer server(0, 2);
  ClientFleet fleet(2);
  std::vector<CallerResult> results(20);
  Shared sh;
  sh.decode_stall = 20ms;  // each completion comes at least 20 ms after its call was sent
  InFlight in_flight;
  const CallerPlan plan(true, 2, server.port(), {10, 3}, 1ms, 1000ms, std::nullopt);
  run_seed_callers<TestRpc>(
      fleet, results, plan, in_flight, [] {}, sh);
  EXPECT_EQ(sh.afters.load(), 20);
  for (const auto& r : results) {
    EXPECT_EQ(r.kind, CallerResult::kTimedOut);
    EXPECT_GE(r.timer_late_ns, 0);
  }
}

}  // namespace
}  // namespace faultline::rpc
