// Latency over time (docs/latency.md): each completed request's latency filed under the moment
// it completed on the run clock (harness/probe/run_clock.h), so that a record shows how latency
// moved while a fault or a pause was on, next to the one histogram of the whole run. The points
// are kept as they came, up to a cap, merged like LatencyHistogram after the load's threads
// join, and reduced to buckets of one width when reported.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace faultline {

class LatencySeries {
 public:
  static constexpr std::size_t kMaxPoints = std::size_t{1} << 18;  // 4 MiB; later ones counted

  // A request that completed at `done` after `latency_ns`.
  void record(std::chrono::steady_clock::time_point done, std::uint64_t latency_ns);
  // One that completed `t` seconds into the run.
  void record_at(double t, std::uint64_t latency_ns);
  void merge(const LatencySeries& other);

  std::size_t size() const { return points_.size(); }
  std::uint64_t dropped() const { return dropped_; }  // points past kMaxPoints

  struct Bucket {
    double from = 0, to = 0;  // seconds on the run clock: [from, to)
    std::uint64_t count = 0;  // requests completed in it
    std::uint64_t p99 = 0;    // nearest rank; 0 when empty
    std::uint64_t max = 0;
  };
  // The span from the first completion to the last cut into buckets of one width, the smallest
  // of 1, 2 or 5 times a power of ten milliseconds that needs at most `max_buckets`, aligned on
  // multiples of it; empty buckets between the first and the last are kept (count 0).
  std::vector<Bucket> buckets(std::size_t max_buckets = 100) const;
  static double bucket_width(double span_s, std::size_t max_buckets);

 private:
  std::vector<std::pair<double, std::uint64_t>> points_;  // (run seconds, ns)
  std::uint64_t dropped_ = 0;
};

}  // namespace faultline
