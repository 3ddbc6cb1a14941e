// When something was first seen, marked from any thread: the earliest mark wins. A scenario
// marks its oracle's first failed check, so the driver can say how soon the run showed its
// symptom (the record's first_symptom_s), not only that it did by the end.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>

namespace faultline {

class FirstSeen {
 public:
  using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC: the driver's clock too

  // Now, unless an earlier moment is marked already. Lock-free; after the first mark a load and
  // a compare.
  void mark() noexcept {
    const std::int64_t now = Clock::now().time_since_epoch().count();
    std::int64_t seen = ns_.load(std::memory_order_relaxed);
    while (now < seen && !ns_.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
    }
  }

  std::optional<Clock::time_point> when() const noexcept {
    const std::int64_t seen = ns_.load(std::memory_order_relaxed);
    if (seen == kNever) return std::nullopt;
    return Clock::time_point(Clock::duration(seen));
  }

 private:
  static constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
  std::atomic<std::int64_t> ns_{kNever};
};

// The earlier of two moments, either of which may be unknown: how per-thread or per-burst first
// times merge (a plain optional where the owner is copied, so no FirstSeen).
inline std::optional<std::chrono::steady_clock::time_point> earliest(
    std::optional<std::chrono::steady_clock::time_point> a,
    std::optional<std::chrono::steady_clock::time_point> b) noexcept {
  if (!a) return b;
  if (!b) return a;
  return *a < *b ? a : b;
}

}  // namespace faultline
