#include "harness/probe/run_clock.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

namespace faultline {
namespace {

// Seconds the process has run, from field 22 of /proc/self/stat (its start in clock ticks since
// boot, on CLOCK_BOOTTIME); 0 when it cannot be read.
double seconds_running() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  const auto close = line.rfind(')');
  if (close == std::string::npos || close + 2 > line.size()) return 0;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long long start_ticks = 0;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 22) start_ticks = std::stoull(field);
  }
  timespec now{};
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  const double t = static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9 -
                   static_cast<double>(start_ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  return std::max(0.0, t);
}

}  // namespace

std::chrono::steady_clock::time_point process_start() {
  static const std::chrono::steady_clock::time_point start = [] {
    const auto now = std::chrono::steady_clock::now();
    return now - std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                     std::chrono::duration<double>(seconds_running()));
  }();
  return start;
}

double run_seconds(std::chrono::steady_clock::time_point t) {
  return std::max(0.0, std::chrono::duration<double>(t - process_start()).count());
}

double run_seconds() {
  return run_seconds(std::chrono::steady_clock::now());
}

}  // namespace faultline
