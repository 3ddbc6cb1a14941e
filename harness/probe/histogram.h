// A log-linear latency histogram, HdrHistogram's layout at 3 significant digits: values below
// 1024 have a bucket each, then every power of two is split into 1024 linear sub-buckets, so a
// recorded value is reported within 1/2048 (0.05 %) of its true value, from 1 ns to 2^64 ns.
// Storage is one block of 1024 counters per power of two, made when a value first lands in it:
// a latency spread over a few orders of magnitude costs tens of KiB, not the whole range.
//
// Each load thread records into its own histogram without locks; merge() combines them after
// the join. encode() and decode() carry a histogram in a run record, so that runs merge into
// one distribution (docs/latency.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace faultline {

class LatencyHistogram {
 public:
  static constexpr unsigned kSubBits = 10;  // 1024 sub-buckets per power of two

  void record(std::uint64_t value) { record(value, 1); }
  void record(std::uint64_t value, std::uint64_t times);
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
  std::uint64_t sum() const { return sum_; }  // wraps past 2^64 (584 years of nanoseconds)
  double mean() const {
    return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0;
  }
  // The value at percentile p (0 < p <= 100): the representative (midpoint) of the bucket that
  // holds the ceil(p/100 * count)-th smallest value, clamped to the exact min and max.
  std::uint64_t percentile(double p) const;

  // Compact text: "h1:<count>:<min>:<max>:<sum>:" then, for each bucket that is not empty, in
  // increasing order, the gap from the previous one and its count as LEB128 varints, in base64.
  std::string encode() const;
  // The inverse; throws HistogramDecodeError naming what is wrong (a bucket out of range, counts
  // that do not add up to the count, a min or max outside its bucket...).
  static LatencyHistogram decode(std::string_view text);

  static std::size_t bucket_of(std::uint64_t value);
  static std::uint64_t lowest_of(std::size_t bucket);
  static std::uint64_t highest_of(std::size_t bucket);
  static std::size_t bucket_count();

  friend bool operator==(const LatencyHistogram& a, const LatencyHistogram& b);

 private:
  std::uint64_t count_in(std::size_t bucket) const;

  std::vector<std::vector<std::uint64_t>> blocks_;  // per power of two; empty until used
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
};

class HistogramDecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace faultline
