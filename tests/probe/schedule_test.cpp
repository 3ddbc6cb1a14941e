// The open-loop schedule: request i is due at start + i / rate, and waiting for a turn never
// returns before it; SendLag counts what left more than 1 ms after it was due.
#include "harness/probe/schedule.h"

#include <gtest/gtest.h>

namespace faultline {
namespace {
using namespace std::chrono_literals;
using Clock = OpenLoopSchedule::Clock;

TEST(OpenLoopSchedule, RequestIIsDueIOverRateAfterTheStart) {
  const Clock::time_point t0{};
  const OpenLoopSchedule s(250, t0);  // one every 4 ms
  EXPECT_EQ(s.due(0), t0);
  EXPECT_EQ(s.due(1) - t0, 4ms);
  EXPECT_EQ(s.due(1000) - t0, 4s);
  EXPECT_DOUBLE_EQ(s.rate(), 250);
}

TEST(OpenLoopSchedule, AWaitEndsAtOrAfterItsTurnAndNotLongBefore) {
  const OpenLoopSchedule s(1000, Clock::now());
  for (std::uint64_t i = 0; i < 20; ++i) {
    const Clock::time_point woke = s.wait_for(i);
    EXPECT_GE(woke, s.due(i));
  }
  // A turn already past returns at once: a late sender is not made later.
  const auto before = Clock::now();
  s.wait_for(0);
  EXPECT_LT(Clock::now() - before, 50ms);
}

TEST(SendLag, KeepsTheWorstLagAndCountsWhatLeftMoreThanAMillisecondLate) {
  const Clock::time_point due{};
  SendLag a, b;
  a.note(due, due + 200us);
  a.note(due, due + 3ms);
  b.note(due, due + 1ms);  // exactly 1 ms is not late
  b.note(due, due + 7ms);
  a.add(b);
  EXPECT_EQ(a.late, 2u);
  EXPECT_EQ(a.max, 7ms);
  EXPECT_DOUBLE_EQ(a.max_ms(), 7.0);
}

}  // namespace
}  // namespace faultline
