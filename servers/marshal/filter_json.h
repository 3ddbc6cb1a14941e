// The JSON side of seed 001's dispatch service: json.Marshal of a filter map (a walk over the
// map, sorted by key, written out), the check a request's document must pass, and the random
// driver id a request writes into the map before marshalling it.
//
// marshal() reads the map it is given at every step and takes no lock: a writer that is not the
// caller races all of it. Which map it is given is the caller's business (the incident).
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <unordered_map>

#include "harness/probe/measure.h"

namespace faultline::marshal {

using FilterMap = std::unordered_map<std::string, std::string>;

// Rule `rule`'s filter map: feature_0 .. feature_<keys - 1>, each with its rule_value().
FilterMap rule_map(std::size_t rule, std::size_t keys);
std::string rule_value(std::size_t rule, std::size_t key);  // "rule<rule>-value<key>"

// `s` as a JSON string, quotes included, appended to `out`.
void append_json_string(std::string& out, const std::string& s);

// The analogue of json.Marshal on a map: walk the map for its entries, sort them by key, write
// them out. Every step reads the map, so a writer that is not this request races all of them.
std::string marshal(const FilterMap& params);

// What the documents of one or more requests came to.
struct CheckCounts {
  std::uint64_t documents = 0;
  std::uint64_t unparsable = 0;
  std::uint64_t wrong_driver = 0;
  std::uint64_t wrong_rule = 0;

  CheckCounts& operator+=(const CheckCounts& other);
  std::uint64_t corrupt() const { return unparsable + wrong_driver + wrong_rule; }
  // documents_checked, documents_unparsable, documents_wrong_driver, documents_wrong_rule.
  Measures measures() const;
  // "2 of 8000 documents bad: 1 do not parse, 1 carry another driver_id, 0 lost or changed ...".
  std::string detail() const;
};

// The oracle for one document: it must parse, and say exactly what this request wrote (rule
// `rule`'s `keys` entries and `driver_id`). Counts it in `counts`; false when it is bad.
bool check_document(const std::string& text, std::size_t rule, std::size_t keys,
                    const std::string& driver_id, CheckCounts& counts);

// A driver id of 1 to 19 decimal digits: short ids live inside the std::string, long ones (16+
// characters with libstdc++) on the heap, so reassigning the value sometimes reallocates it.
std::string random_driver_id(std::mt19937_64& rng);

}  // namespace faultline::marshal
