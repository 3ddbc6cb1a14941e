#include "harness/probe/latency_series.h"

#include <algorithm>
#include <cmath>

#include "harness/probe/run_clock.h"

namespace faultline {

void LatencySeries::record(std::chrono::steady_clock::time_point done, std::uint64_t latency_ns) {
  record_at(run_seconds(done), latency_ns);
}

void LatencySeries::record_at(double t, std::uint64_t latency_ns) {
  if (points_.size() >= kMaxPoints) {
    ++dropped_;
    return;
  }
  points_.emplace_back(t, latency_ns);
}

void LatencySeries::merge(const LatencySeries& other) {
  const std::size_t room = kMaxPoints - std::min(kMaxPoints, points_.size());
  const std::size_t take = std::min(room, other.points_.size());
  points_.insert(points_.end(), other.points_.begin(),
                 other.points_.begin() + static_cast<std::ptrdiff_t>(take));
  dropped_ += other.dropped_ + (other.points_.size() - take);
}

double LatencySeries::bucket_width(double span_s, std::size_t max_buckets) {
  const double n = static_cast<double>(std::max<std::size_t>(1, max_buckets));
  for (double decade = 1e-3;; decade *= 10) {
    for (double step : {1.0, 2.0, 5.0}) {
      // One more than span / width buckets may be touched once aligned on the width.
      if (std::floor(span_s / (step * decade)) + 1 <= n) return step * decade;
    }
  }
}

std::vector<LatencySeries::Bucket> LatencySeries::buckets(std::size_t max_buckets) const {
  if (points_.empty()) return {};
  auto [lo, hi] = std::minmax_element(points_.begin(), points_.end());
  const double width = bucket_width(hi->first - lo->first, max_buckets);
  const auto first = static_cast<std::int64_t>(std::floor(lo->first / width));
  const auto last = static_cast<std::int64_t>(std::floor(hi->first / width));
  std::vector<std::vector<std::uint64_t>> in(static_cast<std::size_t>(last - first + 1));
  for (const auto& [t, ns] : points_) {
    const auto k = std::clamp(static_cast<std::int64_t>(std::floor(t / width)), first, last);
    in[static_cast<std::size_t>(k - first)].push_back(ns);
  }
  std::vector<Bucket> out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    Bucket b;
    b.from = static_cast<double>(first + static_cast<std::int64_t>(i)) * width;
    b.to = b.from + width;
    auto& v = in[i];
    b.count = v.size();
    if (!v.empty()) {
      std::sort(v.begin(), v.end());
      // Nearest rank: the ceil(0.99 n)-th smallest (less a hair, so 0.99 * 200 stays 198).
      const auto rank =
          static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(v.size()) - 1e-9));
      b.p99 = v[std::max<std::size_t>(1, rank) - 1];
      b.max = v.back();
    }
    out.push_back(b);
  }
  return out;
}

}  // namespace faultline
