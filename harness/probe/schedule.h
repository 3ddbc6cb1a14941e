// An open-loop schedule (docs/latency.md): request i is due at start + i / rate, whatever
// happened to the requests before it, so a stall of the server cannot hold the load back. A
// request's latency is measured from when it was due (corrected for coordinated omission) and
// from when it left (uncorrected); the two differ by how late the sender sent it, which
// SendLag tallies so that a sender that could not keep the rate says so.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>

namespace faultline {

class OpenLoopSchedule {
 public:
  using Clock = std::chrono::steady_clock;

  OpenLoopSchedule(double rate_per_s, Clock::time_point start)
      : period_(1.0 / rate_per_s), start_(start) {}

  double rate() const { return 1.0 / period_.count(); }
  Clock::time_point start() const { return start_; }
  Clock::time_point due(std::uint64_t i) const {
    return start_ + std::chrono::duration_cast<Clock::duration>(period_ * static_cast<double>(i));
  }
  // Waits until request i is due and returns the moment the wait ended. It sleeps while far
  // ahead and yields the last 200 us: a sleep alone wakes tens of microseconds late.
  Clock::time_point wait_for(std::uint64_t i) const {
    const Clock::time_point at = due(i);
    while (Clock::now() + std::chrono::microseconds(200) < at) {
      std::this_thread::sleep_until(at - std::chrono::microseconds(100));
    }
    Clock::time_point now = Clock::now();
    while (now < at) {
      std::this_thread::yield();
      now = Clock::now();
    }
    return now;
  }

 private:
  std::chrono::duration<double> period_;
  Clock::time_point start_;
};

// How late a sender sent what was due: the worst lag, and the requests that left more than
// `late` after their due time. One per sending thread; add() merges them after the join.
struct SendLag {
  static constexpr std::chrono::milliseconds kLate{1};
  std::chrono::nanoseconds max{0};
  std::uint64_t late = 0;
  void note(OpenLoopSchedule::Clock::time_point due, OpenLoopSchedule::Clock::time_point sent) {
    const auto lag = std::chrono::duration_cast<std::chrono::nanoseconds>(sent - due);
    max = std::max(max, lag);
    if (lag > kLate) ++late;
  }
  void add(const SendLag& o) {
    max = std::max(max, o.max);
    late += o.late;
  }
  double max_ms() const { return std::chrono::duration<double, std::milli>(max).count(); }
};

}  // namespace faultline
