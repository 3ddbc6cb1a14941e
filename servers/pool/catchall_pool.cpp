// The catch-all worker pool of seed 003 (catchall_pool.h).
#include "servers/pool/catchall_pool.h"

#include <fmt/format.h>

#include <utility>

#include "harness/probe/resource_tally.h"

namespace faultline::pool {

CatchAllPool::CatchAllPool(std::size_t threads, std::size_t queue_cap,
                           std::chrono::steady_clock::time_point deadline)
    : queue_cap_(queue_cap), deadline_(deadline) {
  latency_.resize(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    if (!faultline::start_thread(threads_, [this, i] { work(i); })) break;
  }
}

CatchAllPool::~CatchAllPool() {
  close();
  for (auto& t : threads_) t.join();
}

bool CatchAllPool::submit(std::function<void()> task) {
  std::unique_lock lock(mu_);
  if (!space_.wait_until(lock, deadline_, [&] { return closed_ || queue_.size() < queue_cap_; }))
    return false;
  if (closed_) return false;
  queue_.push_back(std::move(task));
  ready_.notify_one();
  return true;
}

void CatchAllPool::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  ready_.notify_all();
  space_.notify_all();
}

bool CatchAllPool::join_until(std::chrono::steady_clock::time_point until) {
  {
    std::unique_lock lock(mu_);
    if (!exited_cv_.wait_until(lock, until, [&] { return exited_ == threads_.size(); })) {
      return false;
    }
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
  return true;
}

std::size_t CatchAllPool::running() {
  std::lock_guard lock(mu_);
  return threads_.size() - exited_;
}

Measures CatchAllPool::measures() const {
  return {{"exceptions_caught", caught(), "exceptions"}, {"tasks_run", ran(), "tasks"}};
}

LatencyHistogram CatchAllPool::latency() const {
  LatencyHistogram all;
  for (const auto& h : latency_) all.merge(h);
  return all;
}

void CatchAllPool::work(std::size_t index) {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      ready_.wait_until(lock, deadline_, [&] { return closed_ || !queue_.empty(); });
      if (queue_.empty() || std::chrono::steady_clock::now() >= deadline_) break;
      task = std::move(queue_.front());
      queue_.pop_front();
      space_.notify_one();
    }
    const auto begin = std::chrono::steady_clock::now();
    try {
      task();
    } catch (...) {
      // The component's safety net: log and carry on. It sees exceptions only; a signal
      // raised inside task() never unwinds to here.
      caught_.fetch_add(1, std::memory_order_relaxed);
    }
    latency_[index].record(
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::steady_clock::now() - begin)
                                       .count()));
    ran_.fetch_add(1, std::memory_order_relaxed);
  }
  std::lock_guard lock(mu_);
  ++exited_;
  exited_cv_.notify_all();
}

std::string stuck_detail(std::size_t stuck, std::chrono::milliseconds after) {
  return fmt::format("{} workers still inside a task {} ms after the time limit", stuck,
                     after.count());
}

}  // namespace faultline::pool
