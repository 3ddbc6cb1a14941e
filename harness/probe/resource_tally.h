// Counts the times a scenario or a server could not get a resource (a file descriptor, a thread)
// because the run's limit was reached, so that running out is a symptom of the run rather than a
// pile of quiet failures or a hang.
//
// Every place that opens fds or starts threads notes its failures here; a loop that opens many
// (a burst of connections, a pool of callers) checks exhausted() and stops early instead of
// waiting out a timeout per failure. scenario_main() reports the tally when the body returns, as
// the observation `resource_exhausted` (count 0: checked and not seen), with a detail such as
// "accept4: EMFILE (Too many open files) x 812; RLIMIT_NOFILE 24".
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace faultline {

class ResourceTally {
 public:
  // EMFILE (this process's RLIMIT_NOFILE) and ENFILE (the system's file table).
  static bool is_fd_exhaustion(int err) noexcept;

  // Counts a failed fd-opening call (socket, accept4, pipe, epoll_create...) when `err` means
  // the fd limit; returns whether it did. Other errors are the caller's business.
  bool note_fd(int err, std::string_view call);
  // Counts a failed thread start (pthread_create's EAGAIN: the pids or RLIMIT_NPROC limit,
  // or no memory for a stack).
  void note_thread(int err, std::string_view call);
  // A std::system_error from std::thread's constructor or from an fd-opening wrapper: counted
  // as a thread failure when `thread` is set, as an fd failure when its code is EMFILE/ENFILE.
  bool note(const std::system_error& e, std::string_view call, bool thread = false);

  // Something was counted: the run cannot get what it needs, stop starting more work.
  bool exhausted() const noexcept { return total_.load(std::memory_order_relaxed) > 0; }
  std::uint64_t count() const noexcept { return total_.load(std::memory_order_relaxed); }
  // "accept4: EMFILE (Too many open files) x 812; RLIMIT_NOFILE 24", or "" when nothing counted.
  std::string detail() const;

 private:
  struct Entry {
    std::string call;
    int err;
    bool thread;
    std::uint64_t count;
  };
  void add(int err, std::string_view call, bool thread);

  mutable std::mutex mutex_;
  std::vector<Entry> entries_;  // in order of first occurrence
  std::atomic<std::uint64_t> total_{0};
};

// The process-wide tally that scenario_main() reports.
ResourceTally& resource_tally();

// Starts a thread into `pool`. When the run's thread limit refuses it, counts that and returns
// false: the caller starts no more and joins what it has (a joinable std::thread destroyed by an
// exception would end the process before anything is reported).
template <class F>
bool start_thread(std::vector<std::thread>& pool, F&& body, std::string_view call = "std::thread") {
  try {
    pool.emplace_back(std::forward<F>(body));
    return true;
  } catch (const std::system_error& e) {
    resource_tally().note(e, call, true);
    return false;
  }
}

}  // namespace faultline
