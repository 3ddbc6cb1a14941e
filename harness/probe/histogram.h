// A log-linear latency histogram: exact below 128, then 128 linear sub-buckets per power of two,
// so any recorded value is reported within 1/256 (0.4 %) of its true value. Each load thread
// records into its own histogram without locks; merge() combines them after the join.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>
#include <vector>

namespace faultline {

class LatencyHistogram {
 public:
  LatencyHistogram();

  void record(std::uint64_t value);
  // The nanoseconds from `start` to now.
  void record_since(std::chrono::steady_clock::time_point start) {
    record(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now() - start)
                                          .count()));
  }
  void merge(const LatencyHistogram& other);

  std::uint64_t count() const { return count_; }
  std::uint64_t min() const { return count_ ? min_ : 0; }
  std::uint64_t max() const { return max_; }
  double mean() const {
    return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0;
  }
  // The value at percentile p (0 < p <= 100): the representative (midpoint) of the bucket that
  // holds the ceil(p/100 * count)-th smallest value, clamped to the exact min and max.
  std::uint64_t percentile(double p) const;

  static std::size_t bucket_of(std::uint64_t value);
  static std::uint64_t lowest_of(std::size_t bucket);
  static std::uint64_t highest_of(std::size_t bucket);

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
};

}  // namespace faultline
