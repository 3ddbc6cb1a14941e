// A stand-in for Go's garbage collector and finalizers (seed 002). Objects handed to adopt() are
// ones the program no longer references; a collection cycle, run on the reclaimer's own thread
// (as Go runs finalizers on one goroutine), destroys them, running their destructors: for a
// Listener that closes the socket. collect() only asks for a cycle: the destruction happens
// later, concurrently with whatever the program does meanwhile, which is the point.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "harness/probe/perturb.h"
namespace faultline::epoll {

class DeferredReclaimer {
 public:
  DeferredReclaimer() : thread_([this] { run(); }) {}
  // Stops the finalizer thread, then destroys whatever is still queued (as process exit would).
  ~DeferredReclaimer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  DeferredReclaimer(const DeferredReclaimer&) = delete;
  DeferredReclaimer& operator=(const DeferredReclaimer&) = delete;

  // The program drops its last reference to `owner`; it will be destroyed in a later cycle.
  template <class T>
  void adopt(std::unique_ptr<T> owner) {
    std::shared_ptr<T> shared(std::move(owner));
    std::lock_guard lock(mutex_);
    garbage_.push_back([keep = std::move(shared)]() mutable { keep.reset(); });
  }

  // Asks for one collection cycle; returns at once.
  void collect() {
    {
      std::lock_guard lock(mutex_);
      ++cycles_requested_;
    }
    cv_.notify_all();
  }

  // Waits until every requested cycle has run (at most `timeout_ms`); true when they all did.
  bool wait_idle(int timeout_ms) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                        [&] { return cycles_run_ == cycles_requested_; });
  }

  std::size_t finalized() const {
    std::lock_guard lock(mutex_);
    return finalized_;
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || cycles_run_ < cycles_requested_; });
      std::vector<std::function<void()>> batch;
      batch.swap(garbage_);
      lock.unlock();
      for (auto& finalize : batch) {
        FAULTLINE_PERTURB("epoll.reclaimer.before-finalize");  // the reactor still polls the fd
        finalize();  // destructors run here, off the caller's thread
      }
      lock.lock();
      finalized_ += batch.size();
      if (stopping_) return;
      ++cycles_run_;
      cv_.notify_all();
    }
  }

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::function<void()>> garbage_;
  std::size_t cycles_requested_ = 0;
  std::size_t cycles_run_ = 0;
  std::size_t finalized_ = 0;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after every other member is ready
};

}  // namespace faultline::epoll
