// Thread counts of a process, read from /proc/<pid>/task (one entry per thread), once or as a
// time series sampled on a background thread.
//
// The sampler's own thread is one of the threads of its process: sampling the process it runs in
// adds exactly one thread to every sample after start() and none after stop(), so compare
// samples taken while it runs with each other.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace faultline {

// The number of threads of `pid` (0: this process), or -1 when /proc/<pid>/task cannot be read
// (no such process).
int count_threads(pid_t pid = 0);

class ThreadSampler {
 public:
  struct Sample {
    double t_seconds;  // on the run clock (harness/probe/run_clock.h)
    int threads;
  };

  explicit ThreadSampler(pid_t pid = 0,
                         std::chrono::milliseconds interval = std::chrono::milliseconds(20));
  // A process whose pid may change (a server the nemesis restarts): `pid_of` is asked at every
  // sample (0: this process; -1 when there is none: that sample is -1).
  ThreadSampler(std::function<pid_t()> pid_of, std::chrono::milliseconds interval);
  ~ThreadSampler();  // stop()
  ThreadSampler(const ThreadSampler&) = delete;
  ThreadSampler& operator=(const ThreadSampler&) = delete;

  void start();  // takes a first sample at once, then one per interval
  // Joins, then takes a last sample once the sampler's thread has left /proc (bounded: 500 ms);
  // idempotent.
  void stop();

  // Takes one sample now (from any thread) and records it in the series; returns the count.
  int sample_now();

  std::vector<Sample> samples() const;  // a copy, in time order
  int peak() const;                     // the highest count sampled so far (-1: none)

 private:
  void run();
  int record_locked(int threads);

  const std::function<pid_t()> pid_of_;
  const std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<Sample> samples_;
  pid_t sampler_tid_ = 0;  // the sampler thread's tid, set by run()
  std::thread thread_;
};

}  // namespace faultline
