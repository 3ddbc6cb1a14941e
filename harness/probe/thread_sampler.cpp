#include "harness/probe/thread_sampler.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <utility>

#include "harness/probe/run_clock.h"

namespace faultline {
namespace {

// pthread_join returns when the kernel clears the thread's tid, a little before it reaps the
// task and removes /proc/self/task/TID: wait (bounded) for that, so a count taken after a join
// does not still include the joined thread.
void wait_until_reaped(pid_t tid, std::chrono::milliseconds limit) {
  const std::string path = "/proc/self/task/" + std::to_string(tid);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (::access(path.c_str(), F_OK) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace

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
    : ThreadSampler([pid] { return pid; }, interval) {}

ThreadSampler::ThreadSampler(std::function<pid_t()> pid_of, std::chrono::milliseconds interval)
    : pid_of_(std::move(pid_of)), interval_(interval) {}

ThreadSampler::~ThreadSampler() {
  stop();
}

void ThreadSampler::start() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
    record_locked(count_threads(pid_of_()));
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
  const pid_t pid = pid_of_();
  const bool samples_itself = pid == 0 || pid == ::getpid();
  if (samples_itself && sampler_tid_ > 0) {
    wait_until_reaped(sampler_tid_, std::chrono::milliseconds(500));
  }
  std::lock_guard lock(mutex_);
  record_locked(count_threads(pid));
}

int ThreadSampler::sample_now() {
  const int n = count_threads(pid_of_());
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
  sampler_tid_ = ::gettid();
  // Bounded by stop(): each turn waits at most one interval.
  while (!cv_.wait_for(lock, interval_, [&] { return stopping_; })) {
    lock.unlock();
    const int n = count_threads(pid_of_());
    lock.lock();
    record_locked(n);
  }
}

int ThreadSampler::record_locked(int threads) {
  const double t = run_seconds();
  samples_.push_back({t, threads});
  return threads;
}

}  // namespace faultline
