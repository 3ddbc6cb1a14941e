// The records of a results file as the JSON written to it, after read_records has checked every
// one: for tests that check the file's format, field by field.
#pragma once

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/record/results_file.h"

namespace faultline::test_support {

inline std::vector<nlohmann::json> raw_records(const std::filesystem::path& path) {
  (void)faultline::read_records(path);
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

}  // namespace faultline::test_support
