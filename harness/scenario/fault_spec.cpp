#include "harness/scenario/fault_spec.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "harness/probe/shown.h"

namespace faultline {
namespace {

bool is_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

}  // namespace

std::optional<std::string> FaultSpec::get(std::string_view key) const {
  for (const auto& [k, v] : params) {
    if (k == key) return v;
  }
  return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> parse_key_values(std::string_view text,
                                                                  std::string_view what) {
  std::vector<std::pair<std::string, std::string>> out;
  if (text.empty()) return out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(pos, comma - pos);
    std::size_t eq = item.find('=');
    if (eq == std::string_view::npos || !is_name(item.substr(0, eq)) || eq + 1 == item.size()) {
      throw std::invalid_argument(
          fmt::format("{}: '{}' in '{}' is not key=value (keys are lower-case words; write "
                      "them as key=value,key=value)",
                      what, shown(item), shown(text)));
    }
    std::string key(item.substr(0, eq));
    for (const auto& [k, v] : out) {
      if (k == key) {
        throw std::invalid_argument(
            fmt::format("{}: key '{}' is given twice in '{}'", what, key, shown(text)));
      }
    }
    out.emplace_back(std::move(key), std::string(item.substr(eq + 1)));
    pos = comma + 1;
  }
  return out;
}

FaultSpec parse_fault_spec(std::string_view text) {
  FaultSpec spec;
  spec.text = std::string(text);
  std::size_t colon = text.find(':');
  spec.kind = std::string(text.substr(0, colon));
  if (!is_name(spec.kind)) {
    throw std::invalid_argument(fmt::format(
        "'{}' is not a fault: write kind:key=value,... (for example latency:ms=5,jitter=2); "
        "docs/faults.md lists the kinds",
        shown(text)));
  }
  if (colon != std::string_view::npos) {
    if (colon + 1 == text.size()) {
      throw std::invalid_argument(
          fmt::format("fault '{}': nothing after ':' in '{}': give key=value pairs or drop the ':'",
                      spec.kind, shown(text)));
    }
    spec.params = parse_key_values(text.substr(colon + 1), fmt::format("fault '{}'", spec.kind));
  }
  return spec;
}

std::optional<double> spec_number(std::string_view value) {
  if (value.empty()) return std::nullopt;
  const std::string text(value);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

nlohmann::json fault_spec_json(const FaultSpec& spec) {
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [k, v] : spec.params) params[k] = v;
  return {{"spec", spec.text}, {"kind", spec.kind}, {"params", params}};
}

}  // namespace faultline
