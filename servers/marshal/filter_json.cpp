// The JSON marshal of a filter map, its check and the driver ids of seed 001 (filter_json.h).
#include "servers/marshal/filter_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "harness/probe/perturb.h"

namespace faultline::marshal {

FilterMap rule_map(std::size_t rule, std::size_t keys) {
  FilterMap map;
  for (std::size_t k = 0; k < keys; ++k) {
    map.emplace(fmt::format("feature_{}", k), rule_value(rule, k));
  }
  return map;
}

std::string rule_value(std::size_t rule, std::size_t key) {
  return fmt::format("rule{}-value{}", rule, key);
}

void append_json_string(std::string& out, const std::string& s) {
  out += '"';
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += fmt::format("\\u{:04x}", u);
    } else {
      out += c;  // bytes >= 0x80 pass through as they are, as Go's encoder passes valid UTF-8
    }
  }
  out += '"';
}

std::string marshal(const FilterMap& params) {
  std::vector<const FilterMap::value_type*> entries;
  entries.reserve(params.size());
  for (const auto& kv : params) {
    FAULTLINE_PERTURB("shared-map.marshal.iterate");  // a writer may rehash between two steps
    entries.push_back(&kv);
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  std::string out = "{";
  for (const auto* kv : entries) {
    if (out.size() > 1) out += ',';
    append_json_string(out, kv->first);
    out += ':';
    append_json_string(out, kv->second);
  }
  out += '}';
  return out;
}

CheckCounts& CheckCounts::operator+=(const CheckCounts& other) {
  documents += other.documents;
  unparsable += other.unparsable;
  wrong_driver += other.wrong_driver;
  wrong_rule += other.wrong_rule;
  return *this;
}

Measures CheckCounts::measures() const {
  return {{"documents_checked", documents, "documents"},
          {"documents_unparsable", unparsable, "documents"},
          {"documents_wrong_driver", wrong_driver, "documents"},
          {"documents_wrong_rule", wrong_rule, "documents"}};
}

std::string CheckCounts::detail() const {
  return fmt::format(
      "{} of {} documents bad: {} do not parse, {} carry another driver_id, {} lost or changed a "
      "rule entry",
      corrupt(), documents, unparsable, wrong_driver, wrong_rule);
}

bool check_document(const std::string& text, std::size_t rule, std::size_t keys,
                    const std::string& driver_id, CheckCounts& counts) {
  ++counts.documents;
  const auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    ++counts.unparsable;
    return false;
  }
  const auto id = doc.find("driver_id");
  if (id == doc.end() || !id->is_string() || id->get<std::string>() != driver_id) {
    ++counts.wrong_driver;
    return false;
  }
  bool rule_ok = doc.size() == keys + 1;
  for (std::size_t k = 0; rule_ok && k < keys; ++k) {
    const auto v = doc.find(fmt::format("feature_{}", k));
    rule_ok = v != doc.end() && v->is_string() && v->get<std::string>() == rule_value(rule, k);
  }
  if (!rule_ok) ++counts.wrong_rule;
  return rule_ok;
}

std::string random_driver_id(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> digits_dist(1, 19);
  const int digits = digits_dist(rng);
  std::uint64_t low = 1;
  for (int i = 1; i < digits; ++i) low *= 10;
  std::uniform_int_distribution<std::uint64_t> value_dist(low, low * 10 - 1);
  return std::to_string(value_dist(rng));
}

}  // namespace faultline::marshal
