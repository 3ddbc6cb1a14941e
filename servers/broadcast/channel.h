// A Go-like channel for threads: Channel<T>(0) is a rendezvous (a send completes only when a
// receiver has taken the value), Channel<T>(N) buffers up to N values.
//
// Ordering: values are received in send order. A timed send that gives up withdraws its value,
// so a value is either received exactly once or returned to no one. close() wakes every waiter:
// receivers drain what is buffered, then get nothing; a send on a closed channel throws
// std::logic_error (Go panics).
//
// send() without a deadline waits as long as it takes: on a rendezvous channel whose receiver has
// gone, that is forever. That is the incident of seed 004, kept on purpose; everything else here
// takes a deadline.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>

namespace faultline::broadcast {

template <class T>
class Channel {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Channel(std::size_t capacity) : capacity_(capacity) {}
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  std::size_t capacity() const { return capacity_; }

  // Blocks until the value is buffered (capacity > 0) or taken by a receiver (capacity 0).
  void send(T value) { send_until(std::move(value), Clock::time_point::max()); }

  // As send(), giving up at `deadline`; returns whether the value was sent.
  bool send_until(T value, Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    if (closed_) throw std::logic_error("send on closed channel");
    if (capacity_ > 0) {
      if (!wait(writable_, lock, deadline, [&] { return closed_ || queue_.size() < capacity_; })) {
        return false;
      }
      if (closed_) throw std::logic_error("send on closed channel");
      queue_.push_back({next_seq_++, std::move(value)});
      readable_.notify_one();
      return true;
    }
    // Rendezvous: offer the value, then wait until a receiver has taken it.
    const std::uint64_t seq = next_seq_++;
    queue_.push_back({seq, std::move(value)});
    readable_.notify_one();
    const bool taken =
        wait(writable_, lock, deadline, [&] { return closed_ || taken_locked(seq); });
    if (taken && taken_locked(seq)) return true;
    withdraw_locked(seq);  // timed out or closed with the value still on offer
    if (closed_) throw std::logic_error("send on closed channel");
    return false;
  }

  // Blocks until a value arrives; nothing once the channel is closed and drained.
  std::optional<T> receive() { return receive_until(Clock::time_point::max()); }

  // As receive(), giving up at `deadline` (then nothing).
  std::optional<T> receive_until(Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    const bool ready = wait(readable_, lock, deadline, [&] { return closed_ || !queue_.empty(); });
    if (!ready || queue_.empty()) return std::nullopt;
    T value = std::move(queue_.front().value);
    queue_.pop_front();
    // Wakes a rendezvous sender whose value this was, or a buffered sender waiting for room.
    writable_.notify_all();
    return value;
  }

  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    readable_.notify_all();
    writable_.notify_all();
  }

  // Values buffered or on offer by blocked senders.
  std::size_t pending() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }

 private:
  struct Item {
    std::uint64_t seq;
    T value;
  };

  template <class Pred>
  static bool wait(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                   Clock::time_point deadline, Pred pred) {
    if (deadline == Clock::time_point::max()) {
      cv.wait(lock, pred);
      return true;
    }
    return cv.wait_until(lock, deadline, pred);
  }

  // The queue is in send order and only the sender withdraws its own value, so a value is taken
  // exactly when it is no longer in the queue: the front has a later sequence number.
  bool taken_locked(std::uint64_t seq) const { return queue_.empty() || queue_.front().seq > seq; }

  void withdraw_locked(std::uint64_t seq) {
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (it->seq == seq) {
        queue_.erase(it);
        return;
      }
    }
  }

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable readable_;  // receivers wait here
  std::condition_variable writable_;  // senders wait here
  std::deque<Item> queue_;
  std::uint64_t next_seq_ = 0;
  bool closed_ = false;
};

}  // namespace faultline::broadcast
