// rpc-timeout-race's caller burst: released together by default; with a rate, each caller
// runs at its turn in an open-loop schedule, and the tally times its call from that turn.
#include "servers/rpc/caller_burst.h"

#include <gtest/gtest.h>

#include <atomic>

namespace faultline::rpc {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(CallerBurst, WithARateEachCallerStartsAtItsTurnAndNotBefore) {
  ClientFleet fleet(1);
  std::vector<Clock::time_point> ran(10);
  const BurstTimes times = run_caller_burst(
      fleet, ran.size(), 100ms, 200.0, [] {}, [&](std::size_t i) { ran[i] = Clock::now(); });
  ASSERT_TRUE(times.schedule.has_value());
  ASSERT_EQ(times.started.size(), ran.size());
  for (std::size_t i = 0; i < ran.size(); ++i) {
    EXPECT_GE(times.started[i], times.schedule->due(i)) << "caller " << i;
    EXPECT_GE(ran[i], times.started[i]) << "caller " << i;
  }
  // The last of ten at 200/s is due 45 ms after the first.
  EXPECT_GE(ran.back() - ran.front(), 40ms);
}

TEST(CallerBurst, WithoutARateThereIsNoSchedule) {
  ClientFleet fleet(1);
  std::atomic<int> calls{0};
  const BurstTimes times = run_caller_burst(
      fleet, 4, 100ms, std::nullopt, [] {}, [&](std::size_t) { ++calls; });
  EXPECT_FALSE(times.schedule.has_value());
  EXPECT_TRUE(times.started.empty());
  EXPECT_EQ(calls.load(), 4);
}

// The tally's arithmetic, on results made by hand: caller i is due at 10i ms, started 1 ms
// (caller 2: 5 ms) late, dialled for 2 ms and then waited 3 ms for its reply.
TEST(CallerBurst, TheTallyTimesEachCompletedCallFromWhenItsCallerWasDue) {
  BurstTimes times;
  const Clock::time_point t0 = Clock::now();
  times.schedule.emplace(100.0, t0);
  std::vector<CallerResult> results(4);
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto due = times.schedule->due(i);
    times.started.push_back(due + (i == 2 ? 5ms : 1ms));
    results[i].kind = i == 3 ? CallerResult::kTimedOut : CallerResult::kOk;
    results[i].called_at = times.started.back() + 2ms;
    if (i != 3) results[i].latency_ns = 3'000'000;
  }
  const CallerTally t = CallerTally::sum(results, 3, 1, times);
  ASSERT_EQ(t.latency_corrected.count(), 3u);  // completed calls only
  EXPECT_NEAR(static_cast<double>(t.latency_corrected.min()), 6e6, 6e6 * 0.001);
  EXPECT_NEAR(static_cast<double>(t.latency_corrected.max()), 10e6, 10e6 * 0.001);
  EXPECT_EQ(t.latency.count(), 3u);
  EXPECT_NEAR(static_cast<double>(t.latency.max()), 3e6, 3e6 * 0.001);
  EXPECT_EQ(t.start_lag.late, 1u);  // only caller 2 started more than 1 ms late
  EXPECT_EQ(t.start_lag.max, 5ms);
  // Four callers over 31 ms (the last started at 30 + 1 ms): 3 intervals.
  EXPECT_NEAR(t.achieved_rate, 3 / 0.031, 0.5);
}

}  // namespace
}  // namespace faultline::rpc
