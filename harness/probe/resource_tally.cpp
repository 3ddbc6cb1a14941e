#include "harness/probe/resource_tally.h"

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "harness/probe/proc_cgroup.h"

namespace faultline {
namespace {

const char* errno_name(int err) {
  switch (err) {
    case EMFILE:
      return "EMFILE";
    case ENFILE:
      return "ENFILE";
    case EAGAIN:
      return "EAGAIN";
    case ENOMEM:
      return "ENOMEM";
    default:
      return nullptr;
  }
}

// pids.max of this process's pids cgroup (v2 or v1), or "" when there is none or it is "max".
std::string pids_max() {
  for (const auto& m : own_cgroups()) {
    std::vector<std::string> files;  // where the usual mounts put it
    if (m.controllers.empty()) {
      files = {"/sys/fs/cgroup" + m.path + "/pids.max",
               "/sys/fs/cgroup/unified" + m.path + "/pids.max"};
    } else if (m.has_controller("pids")) {
      files = {"/sys/fs/cgroup/pids" + m.path + "/pids.max"};
    }
    for (const auto& file : files) {
      std::ifstream max(file);
      std::string value;
      if (max >> value && value != "max") return value;
    }
  }
  return "";
}

}  // namespace

bool ResourceTally::is_fd_exhaustion(int err) noexcept {
  return err == EMFILE || err == ENFILE;
}

bool ResourceTally::note_fd(int err, std::string_view call) {
  if (!is_fd_exhaustion(err)) return false;
  add(err, call, false);
  return true;
}

void ResourceTally::note_thread(int err, std::string_view call) {
  add(err, call, true);
}

bool ResourceTally::note(const std::system_error& e, std::string_view call, bool thread) {
  const int err = e.code().value();
  if (thread) {
    note_thread(err, call);
    return true;
  }
  return note_fd(err, call);
}

void ResourceTally::add(int err, std::string_view call, bool thread) {
  {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
      return e.err == err && e.thread == thread && e.call == call;
    });
    if (it != entries_.end()) {
      ++it->count;
    } else {
      entries_.push_back({std::string(call), err, thread, 1});
    }
  }
  total_.fetch_add(1, std::memory_order_relaxed);
}

std::string ResourceTally::detail() const {
  std::vector<Entry> entries;
  {
    std::lock_guard lock(mutex_);
    entries = entries_;
  }
  if (entries.empty()) return "";
  std::string out;
  bool fds = false, threads = false;
  for (const auto& e : entries) {
    if (!out.empty()) out += "; ";
    const char* name = errno_name(e.err);
    out += fmt::format("{}: {} ({}) x {}", e.call, name ? name : std::to_string(e.err).c_str(),
                       std::strerror(e.err), e.count);
    (e.thread ? threads : fds) = true;
  }
  if (fds) {
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY) {
      out += fmt::format("; RLIMIT_NOFILE {}", files.rlim_cur);
    }
  }
  if (threads) {
    rlimit procs{};
    if (const std::string max = pids_max(); !max.empty()) {
      out += "; pids.max " + max;
    } else if (::getrlimit(RLIMIT_NPROC, &procs) == 0 && procs.rlim_cur != RLIM_INFINITY) {
      out += fmt::format("; RLIMIT_NPROC {}", procs.rlim_cur);
    }
  }
  return out;
}

ResourceTally& resource_tally() {
  static ResourceTally tally;
  return tally;
}

}  // namespace faultline
