// This process's cgroups, as /proc/self/cgroup lists them: one line per hierarchy,
// "ID:CONTROLLERS:PATH" ("0::/path" for cgroup2, "4:pids:/path" for a v1 hierarchy).
#pragma once

#include <string>
#include <vector>

namespace faultline {

struct CgroupMembership {
  std::string hierarchy_id;              // "0" for cgroup2
  std::vector<std::string> controllers;  // empty for cgroup2
  std::string path;                      // inside the hierarchy, "/..."
  bool is_v2() const { return hierarchy_id == "0" && controllers.empty(); }
  bool has_controller(const std::string& name) const;
};

// Empty when /proc/self/cgroup cannot be read.
std::vector<CgroupMembership> own_cgroups();

}  // namespace faultline
