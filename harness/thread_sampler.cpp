#include "harness/thread_sampler.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <string>

namespace faultline {

int count_threads(pid_t pid) {
  const std::string path =
      pid == 0 ? std::string("/proc/self/task") : "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return -1;
  int n = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++n;  // skip "." and ".."
  }
  ::closedir(dir);
  return n;
}

ThreadSampler::ThreadSampler(pid_t pid, std::chrono::milliseconds interval)
    : pid_(pid), interval_(interval), start_(std::chrono::steady_clock::now()) {}

ThreadSampler::~ThreadSampler() {
  stop();
}

void ThreadSampler::start() {
  {
    std::lock_guard lock(mutex_);
    start_ = std::chrono::steady_clock::now();
    stopping_ = false;
    record_locked(count_threads(pid_));
  }
  thread_ = std::thread([this] { run(); });
}

void ThreadSampler::stop() {
  {
    std::lock_guard lock(mutex_);
    if (!thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  std::lock_guard lock(mutex_);
  record_locked(count_threads(pid_));
}

int ThreadSampler::sample_now() {
  const int n = count_threads(pid_);
  std::lock_guard lock(mutex_);
  return record_locked(n);
}

std::vector<ThreadSampler::Sample> ThreadSampler::samples() const {
  std::lock_guard lock(mutex_);
  return samples_;
}

int ThreadSampler::peak() const {
  std::lock_guard lock(mutex_);
  int best = -1;
  for (const auto& s : samples_) best = std::max(best, s.threads);
  return best;
}

void ThreadSampler::run() {
  std::unique_lock lock(mutex_);
  // Bounded by stop(): each turn waits at most one interval.
  while (!cv_.wait_for(lock, interval_, [&] { return stopping_; })) {
    lock.unlock();
    const int n = count_threads(pid_);
    lock.lock();
    record_locked(n);
  }
}

int ThreadSampler::record_locked(int threads) {
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  samples_.push_back({t, threads});
  return threads;
}

}  // namespace faultline
