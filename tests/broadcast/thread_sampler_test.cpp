// The /proc thread counter and the sampler the broadcast-leak oracle reads.
#include "harness/probe/thread_sampler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <latch>
#include <thread>
#include <vector>

namespace faultline {
namespace {
using namespace std::chrono_literals;

// pthread_join returns once the kernel has cleared the thread's tid, which happens a little
// before the kernel reaps the task and removes it from /proc/PID/task: poll, bounded, for the
// count to settle instead of reading it once.
int count_threads_once_settled(int want, std::chrono::milliseconds limit = 2000ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int n = count_threads();
  while (n != want && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
    n = count_threads();
  }
  return n;
}

TEST(CountThreads, SeesThreadsComeAndGo) {
  const int before = count_threads();
  ASSERT_GE(before, 1);
  std::latch release(1);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) threads.emplace_back([&] { release.wait(); });
  EXPECT_EQ(count_threads(), before + 3);
  EXPECT_EQ(count_threads(::getpid()), before + 3);
  release.count_down();
  for (auto& t : threads) t.join();
  EXPECT_EQ(count_threads_once_settled(before), before);
}

TEST(CountThreads, ReportsAMissingProcessAsMinusOne) {
  // pid_max is at most 2^22 on Linux: this pid cannot exist.
  EXPECT_EQ(count_threads(static_cast<pid_t>(1 << 23)), -1);
}

TEST(ThreadSampler, RecordsASeriesWithItsPeak) {
  ThreadSampler sampler(0, 5ms);
  sampler.start();
  const int baseline = sampler.sample_now();  // includes the sampler's own thread
  std::latch release(1);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&] { release.wait(); });
  std::this_thread::sleep_for(50ms);
  release.count_down();
  for (auto& t : threads) t.join();
  ASSERT_EQ(count_threads_once_settled(baseline), baseline);
  EXPECT_EQ(sampler.sample_now(), baseline);
  sampler.stop();
  const auto samples = sampler.samples();
  ASSERT_GE(samples.size(), 4u);
  for (std::size_t i = 1; i < samples.size(); ++i) {
    EXPECT_GE(samples[i].t_seconds, samples[i - 1].t_seconds);
  }
  EXPECT_EQ(sampler.peak(), baseline + 4);
  EXPECT_EQ(samples.back().threads, baseline - 1);  // taken after the sampler's thread ended
}

}  // namespace
}  // namespace faultline
