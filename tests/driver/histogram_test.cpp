#include "harness/probe/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace faultline {
namespace {

TEST(Histogram, BucketsCoverTheRangeWithoutGaps) {
  for (std::size_t b = 1; b < 57 * 128; ++b) {
    EXPECT_EQ(LatencyHistogram::lowest_of(b), LatencyHistogram::highest_of(b - 1) + 1) << b;
  }
  for (std::uint64_t v : {0ull, 1ull, 127ull, 128ull, 129ull, 1000ull, 123456789ull, ~0ull}) {
    std::size_t b = LatencyHistogram::bucket_of(v);
    EXPECT_LE(LatencyHistogram::lowest_of(b), v);
    EXPECT_GE(LatencyHistogram::highest_of(b), v);
  }
}

TEST(Histogram, PercentilesWithinOnePercentOfExact) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(10.0, 1.5);  // ~ 22 us median, long tail (ns)
  std::vector<std::uint64_t> values;
  LatencyHistogram a, b;
  for (int i = 0; i < 200000; ++i) {
    auto v = static_cast<std::uint64_t>(dist(rng));
    values.push_back(v);
    (i % 2 ? a : b).record(v);  // two "threads", merged afterwards
  }
  a.merge(b);
  std::sort(values.begin(), values.end());
  EXPECT_EQ(a.count(), values.size());
  EXPECT_EQ(a.max(), values.back());
  EXPECT_EQ(a.min(), values.front());
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    auto rank = static_cast<std::size_t>(std::ceil(p / 100 * static_cast<double>(values.size())));
    double exact = static_cast<double>(values[rank - 1]);
    double got = static_cast<double>(a.percentile(p));
    EXPECT_NEAR(got, exact, exact * 0.01) << "p" << p;
  }
}

TEST(Histogram, EmptyReportsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.min(), 0u);
}

}  // namespace
}  // namespace faultline
