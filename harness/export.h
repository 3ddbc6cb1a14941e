// Results files in the formats other tools read: CSV for spreadsheets and notebooks, JUnit XML
// for CI dashboards (docs/compare.md, "Export").
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace faultline {

// One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF; quotes doubled.
std::string csv_field(std::string_view text);

// One row per run. Fixed columns first (key, run_id, scenario, variant, sanitizer, repeat_index,
// seed, verdict, verdict_reason, duration_s, symptom_kinds), then `param.<name>` for every
// parameter and `metric.<name>` for every metric seen in any record, sorted by name; a run
// without a parameter or metric leaves its cell empty. Numbers are written in their shortest
// exact form, so they read back to the same double.
std::string export_csv(const std::vector<nlohmann::json>& records);

// Text made safe for XML 1.0 character data and attribute values: & < > " ' escaped, and the
// control characters XML cannot hold at all replaced by U+FFFD.
std::string xml_escape(std::string_view text);

// One <testsuite> per scenario.variant.sanitizer (in order of first appearance) and one
// <testcase> per run: classname "scenario.variant.sanitizer", name "k=v,k=v #repeat". A buggy*
// run that did not reproduce and a fixed* run that did are <failure>s; an unknown run is an
// <error> (it proved nothing); runs of other variants pass unless unknown.
std::string export_junit(const std::vector<nlohmann::json>& records, const std::string& suite_name);

}  // namespace faultline
