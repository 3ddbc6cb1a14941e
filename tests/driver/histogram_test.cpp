#include "harness/probe/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace faultline {
namespace {

TEST(Histogram, BucketsCoverTheRangeWithoutGaps) {
  for (std::size_t b = 1; b < LatencyHistogram::bucket_count(); ++b) {
    EXPECT_EQ(LatencyHistogram::lowest_of(b), LatencyHistogram::highest_of(b - 1) + 1) << b;
  }
  for (std::uint64_t v : {0ull, 1ull, 1023ull, 1024ull, 1025ull, 4096ull, 123456789ull, ~0ull}) {
    std::size_t b = LatencyHistogram::bucket_of(v);
    EXPECT_LE(LatencyHistogram::lowest_of(b), v);
    EXPECT_GE(LatencyHistogram::highest_of(b), v);
    // Three significant digits: a bucket is at most 1/1024 of its lowest value wide.
    const std::uint64_t width = LatencyHistogram::highest_of(b) - LatencyHistogram::lowest_of(b);
    EXPECT_LE(width, LatencyHistogram::lowest_of(b) / 1024) << v;
  }
  EXPECT_EQ(LatencyHistogram::bucket_of(~0ull), LatencyHistogram::bucket_count() - 1);
}

TEST(Histogram, PercentilesWithinATenthOfAPercentOfExact) {
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
    EXPECT_NEAR(got, exact, exact * 0.001) << "p" << p;
  }
}

// A histogram in a record: encoded, decoded, equal; merged after decoding as before.
TEST(Histogram, EncodesAndDecodesToTheSameHistogram) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(12.0, 2.0);
  LatencyHistogram a, b;
  for (int i = 0; i < 50000; ++i) (i % 3 ? a : b).record(static_cast<std::uint64_t>(dist(rng)));
  a.record(0);
  a.record(~0ull);
  const std::string text = a.encode();
  EXPECT_TRUE(text.starts_with("h1:"));
  const LatencyHistogram back = LatencyHistogram::decode(text);
  EXPECT_TRUE(back == a);
  EXPECT_EQ(back.percentile(99), a.percentile(99));
  EXPECT_EQ(back.encode(), text);
  LatencyHistogram merged = LatencyHistogram::decode(a.encode());
  merged.merge(LatencyHistogram::decode(b.encode()));
  LatencyHistogram direct = a;
  direct.merge(b);
  EXPECT_TRUE(merged == direct);
  EXPECT_TRUE(LatencyHistogram::decode(LatencyHistogram().encode()) == LatencyHistogram());
  // 50000 values spread over eight orders of magnitude (about 10000 buckets used): 30 KB, not
  // one counter for each of the 56320 buckets.
  EXPECT_LT(text.size(), 40u * 1024) << text.size();
}

TEST(Histogram, DecodeRefusesWhatIsNotAHistogram) {
  LatencyHistogram h;
  h.record(5000);
  h.record(7000);
  const std::string good = h.encode();
  const std::string buckets = good.substr(good.rfind(':') + 1);
  for (const std::string& bad :
       std::vector<std::string>{std::string("x"), std::string("h1:2:5000:7000:12000"),
                                "h1:3:5000:7000:12000:" + buckets,  // one value missing
                                "h1:2:1:7000:12000:" + buckets,     // min outside its bucket
                                "h1:2:5000:7000:12000:" + buckets + "A",
                                std::string("h1:2:5000:7000:12000:////////"),  // beyond the last
                                std::string("h1:0:0:0:5:"), "h1:-2:5000:7000:12000:" + buckets,
                                "h1:99999999999999999999:5000:7000:12000:" + buckets}) {
    EXPECT_THROW(LatencyHistogram::decode(bad), HistogramDecodeError) << bad;
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
