#include "harness/scenario/server_counters.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "harness/probe/write_all.h"

namespace faultline {

std::filesystem::path server_counters_path(const std::string& state_path) {
  return state_path + ".counters";
}

void append_server_counters(const std::filesystem::path& path, const Measures& measures) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& m : measures) {
    list.push_back({{"name", m.name}, {"value", m.value}, {"unit", m.unit}});
  }
  const std::string line =
      nlohmann::json{{"pid", ::getpid()}, {"measures", std::move(list)}}.dump() + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  (void)write_all(fd, line.data(), line.size());
  ::close(fd);
}

Measures read_server_counters(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::map<long long, Measures> last;  // per pid, its latest line
  std::vector<long long> pids;         // in the order they first wrote
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline: a line cut short by a kill
    try {
      const auto j = nlohmann::json::parse(line);
      Measures m;
      for (const auto& e : j.at("measures")) {
        m.emplace_back(e.at("name").get<std::string>(), e.at("value").get<double>(),
                       e.at("unit").get<std::string>());
      }
      const auto pid = j.at("pid").get<long long>();
      if (!last.count(pid)) pids.push_back(pid);
      last[pid] = std::move(m);
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(
          fmt::format("{}: bad counters line '{}': {}", path.string(), line, e.what()));
    }
  }
  Measures sum;
  for (auto pid : pids) {
    for (const auto& m : last[pid]) {
      auto it =
          std::find_if(sum.begin(), sum.end(), [&](const Measure& s) { return s.name == m.name; });
      if (it == sum.end()) {
        sum.push_back(m);
      } else {
        it->value += m.value;
      }
    }
  }
  return sum;
}

double measure_value(const Measures& measures, std::string_view name) {
  for (const auto& m : measures) {
    if (m.name == name) return m.value;
  }
  return 0;
}

}  // namespace faultline
