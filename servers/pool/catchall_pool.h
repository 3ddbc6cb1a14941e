// The worker pool of seed 003, the one the component trusted: every task runs under
// `try { task(); } catch (...) { ++caught; }`, so a task can throw anything and its worker carries
// on. Its own queue is correctly locked; the incident is in what the tasks share, never in here.
//
// A bounded queue (submit() blocks while it is full) and a deadline: past it, submit() refuses
// and the workers stop taking tasks. join_until() waits for the workers only so long, so a worker
// that never comes back from a task (a map corrupted into a cycle) is reported, not waited for.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness/probe/histogram.h"
#include "harness/probe/measure.h"

namespace faultline::pool {

class CatchAllPool {
 public:
  // Starts `threads` workers; under --max-threads a refused start is counted (resource_exhausted)
  // and no more start.
  CatchAllPool(std::size_t threads, std::size_t queue_cap,
               std::chrono::steady_clock::time_point deadline);
  ~CatchAllPool();
  CatchAllPool(const CatchAllPool&) = delete;
  CatchAllPool& operator=(const CatchAllPool&) = delete;

  // Blocks while the queue is full; false once the pool is closed or past its deadline.
  bool submit(std::function<void()> task);

  // Submits make_task(i) for each i in [0, n) until one is refused (the deadline passed), then
  // closes the pool. Returns how many were submitted.
  template <class MakeTask>
  std::uint64_t submit_each(std::uint64_t n, MakeTask make_task) {
    std::uint64_t submitted = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
      if (!submit(make_task(i))) break;
      ++submitted;
    }
    close();
    return submitted;
  }

  // No more tasks; workers finish the queue (or stop at the deadline) and exit.
  void close();

  // Waits for every worker until `until`; true when all have exited (and are joined).
  bool join_until(std::chrono::steady_clock::time_point until);

  std::size_t running();
  std::uint64_t caught() const { return caught_.load(std::memory_order_relaxed); }
  std::uint64_t ran() const { return ran_.load(std::memory_order_relaxed); }
  // exceptions_caught and tasks_run.
  Measures measures() const;
  // Per-worker task latencies merged; call only after join_until() returned true.
  LatencyHistogram latency() const;

 private:
  void work(std::size_t index);

  const std::size_t queue_cap_;
  const std::chrono::steady_clock::time_point deadline_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::condition_variable space_;
  std::condition_variable exited_cv_;
  std::deque<std::function<void()>> queue_;
  bool closed_ = false;
  std::size_t exited_ = 0;
  std::vector<std::thread> threads_;
  std::vector<LatencyHistogram> latency_;  // one per worker, lock-free to record
  std::atomic<std::uint64_t> caught_{0};
  std::atomic<std::uint64_t> ran_{0};
};

// "3 workers still inside a task 2000 ms after the time limit": what join_until() left behind,
// `after` past the deadline.
std::string stuck_detail(std::size_t stuck, std::chrono::milliseconds after);

}  // namespace faultline::pool
