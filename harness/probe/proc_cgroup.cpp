#include "harness/probe/proc_cgroup.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace faultline {

bool CgroupMembership::has_controller(const std::string& name) const {
  return std::find(controllers.begin(), controllers.end(), name) != controllers.end();
}

std::vector<CgroupMembership> own_cgroups() {
  std::vector<CgroupMembership> out;
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    const auto first = line.find(':');
    const auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    CgroupMembership m;
    m.hierarchy_id = line.substr(0, first);
    std::istringstream list(line.substr(first + 1, second - first - 1));
    for (std::string c; std::getline(list, c, ',');) {
      if (!c.empty()) m.controllers.push_back(c);
    }
    m.path = line.substr(second + 1);
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace faultline
