// Latency over time (harness/probe/latency_series.h) and the run clock it is filed on: bucket
// widths, nearest-rank p99 and max per bucket, empty buckets kept, the cap, merging, and the
// sample series a scenario reports from it.
#include "harness/probe/latency_series.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/probe/run_clock.h"
#include "harness/scenario/scenario_api.h"

namespace faultline {
namespace {

// Taken while the test binary starts, before main: the run clock must put it near 0.
const auto kLoaded = std::chrono::steady_clock::now();

TEST(RunClock, CountsFromWhenTheProcessStarted) {
  const double at_load = run_seconds(kLoaded);
  EXPECT_GE(at_load, 0.0);
  // The kernel's start time is in clock ticks (10 ms); loading a sanitized binary takes a while.
  EXPECT_LT(at_load, 0.5);
  const double a = run_seconds();
  const double b = run_seconds();
  EXPECT_GE(b, a);
  EXPECT_GE(a, at_load);
}

TEST(LatencySeries, TheWidthIsTheSmallestOneTwoFiveStepThatFits) {
  EXPECT_DOUBLE_EQ(LatencySeries::bucket_width(0, 100), 0.001);
  EXPECT_DOUBLE_EQ(LatencySeries::bucket_width(0.0989, 100), 0.001);  // 99 buckets
  EXPECT_DOUBLE_EQ(LatencySeries::bucket_width(0.1, 100), 0.002);
  EXPECT_DOUBLE_EQ(LatencySeries::bucket_width(0.35, 100), 0.005);
  EXPECT_DOUBLE_EQ(LatencySeries::bucket_width(10, 100), 0.2);
  EXPECT_DOUBLE_EQ(LatencySeries::bucket_width(10, 10), 2.0);
}

TEST(LatencySeries, EachBucketHoldsItsNearestRankP99AndItsMax) {
  LatencySeries s;
  // 0.100-0.101 s: 200 completions of 1..200 us; nothing in 0.101-0.103; one at 0.1035.
  for (int i = 1; i <= 200; ++i) s.record_at(0.1 + i * 1e-6, static_cast<std::uint64_t>(i) * 1000);
  s.record_at(0.1035, 7'000'000);
  const auto b = s.buckets(100);
  ASSERT_EQ(b.size(), 4u);  // 1 ms wide, 0.100 to 0.104
  EXPECT_NEAR(b[0].from, 0.100, 1e-12);
  EXPECT_NEAR(b[0].to, 0.101, 1e-12);
  EXPECT_EQ(b[0].count, 200u);
  EXPECT_EQ(b[0].p99, 198'000u);  // the 198th smallest of 200
  EXPECT_EQ(b[0].max, 200'000u);
  EXPECT_EQ(b[1].count, 0u);
  EXPECT_EQ(b[2].count, 0u);
  EXPECT_EQ(b[3].count, 1u);
  EXPECT_EQ(b[3].p99, 7'000'000u);
  EXPECT_EQ(b[3].max, 7'000'000u);
}

TEST(LatencySeries, AStallShowsAsAGapThenASpike) {
  // A closed loop of 1 ms requests with the server stopped from 1.0 s to 1.3 s: nothing
  // completes in the stall, and the request caught in it completes at 1.305 s after 300 ms.
  LatencySeries s;
  for (double t = 0.001; t < 1.0; t += 0.001) s.record_at(t, 1'000'000);
  s.record_at(1.305, 300'000'000);
  for (double t = 1.301; t < 2.0; t += 0.001) s.record_at(t, 1'000'000);
  const auto b = s.buckets(100);  // 20 ms wide
  std::uint64_t worst = 0;
  double worst_at = 0;
  for (const auto& x : b) {
    if (x.from >= 1.02 && x.to <= 1.28) {
      EXPECT_EQ(x.count, 0u) << x.from;
    }
    if (x.max > worst) {
      worst = x.max;
      worst_at = x.from;
    }
  }
  EXPECT_EQ(worst, 300'000'000u);
  EXPECT_NEAR(worst_at, 1.30, 1e-9);  // its bucket: 1.30-1.32 s
}

TEST(LatencySeries, MergingKeepsEveryPointUpToTheCapAndCountsTheRest) {
  LatencySeries a, b;
  for (std::size_t i = 0; i < LatencySeries::kMaxPoints - 10; ++i) a.record_at(1.0, 1);
  for (int i = 0; i < 25; ++i) b.record_at(2.0, 5);
  a.merge(b);
  EXPECT_EQ(a.size(), LatencySeries::kMaxPoints);
  EXPECT_EQ(a.dropped(), 15u);
  a.record_at(3.0, 1);
  EXPECT_EQ(a.dropped(), 16u);
}

TEST(LatencySeries, AScenarioReportsItAsThreeSampleSeries) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("latency_series_test." + std::to_string(::getpid()) + ".jsonl");
  LatencySeries s;
  s.record_at(0.5005, 2'000'000);
  s.record_at(0.5025, 4'000'000);
  {
    Reporter report(path.string());
    report.latency_over_time("latency", s, 1e6, "ms");
  }
  std::map<std::string, std::vector<std::pair<double, double>>> series;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const auto e = nlohmann::json::parse(line);
    ASSERT_EQ(e["type"], "sample");
    series[e["series"]].emplace_back(e["t"].get<double>(), e["value"].get<double>());
  }
  std::filesystem::remove(path);
  ASSERT_EQ(series.size(), 3u);
  // Buckets of 1 ms at 0.500, 0.501 (empty) and 0.502; points at their middles.
  ASSERT_EQ(series["latency_per_s"].size(), 3u);
  EXPECT_NEAR(series["latency_per_s"][0].second, 1000, 1e-6);
  EXPECT_DOUBLE_EQ(series["latency_per_s"][1].second, 0);
  ASSERT_EQ(series["latency_p99_ms"].size(), 2u);
  EXPECT_NEAR(series["latency_p99_ms"][0].first, 0.5005, 1e-9);
  EXPECT_DOUBLE_EQ(series["latency_p99_ms"][0].second, 2);
  EXPECT_DOUBLE_EQ(series["latency_max_ms"][1].second, 4);
}

}  // namespace
}  // namespace faultline
