#include "harness/probe/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

namespace faultline {
namespace {
constexpr unsigned kSubBits = 7;  // 128 sub-buckets per power of two
constexpr std::uint64_t kSubCount = 1u << kSubBits;
// Values below 128 have their own bucket; each exponent 7..63 adds 128 more.
constexpr std::size_t kBuckets = kSubCount + (64 - kSubBits) * kSubCount;
}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(kBuckets, 0) {}

std::size_t LatencyHistogram::bucket_of(std::uint64_t value) {
  if (value < kSubCount) return static_cast<std::size_t>(value);
  unsigned exponent = 63u - static_cast<unsigned>(std::countl_zero(value));  // >= kSubBits
  std::uint64_t sub = (value >> (exponent - kSubBits)) & (kSubCount - 1);
  return static_cast<std::size_t>((exponent - kSubBits + 1) * kSubCount + sub);
}

std::uint64_t LatencyHistogram::lowest_of(std::size_t bucket) {
  if (bucket < kSubCount) return bucket;
  std::uint64_t exponent = bucket / kSubCount - 1 + kSubBits;
  std::uint64_t sub = bucket % kSubCount;
  return (std::uint64_t{1} << exponent) | (sub << (exponent - kSubBits));
}

std::uint64_t LatencyHistogram::highest_of(std::size_t bucket) {
  if (bucket < kSubCount) return bucket;
  std::uint64_t exponent = bucket / kSubCount - 1 + kSubBits;
  return lowest_of(bucket) + (std::uint64_t{1} << (exponent - kSubBits)) - 1;
}

void LatencyHistogram::record(std::uint64_t value) {
  ++counts_[bucket_of(value)];
  ++count_;
  sum_ += value;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

std::uint64_t LatencyHistogram::percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      std::uint64_t mid = lowest_of(i) + (highest_of(i) - lowest_of(i)) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

}  // namespace faultline
