// Results files in the formats other tools read: CSV for spreadsheets and notebooks, JUnit XML
// for CI dashboards (docs/compare.md, "Export").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "harness/record/record.h"

namespace faultline {

// One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF; quotes doubled.
std::string csv_field(std::string_view text);

// One row per run. Fixed columns first (key, run_id, scenario, variant, sanitizer, repeat_index,
// seed, verdict and verdict_reason from the judge, expectation, duration_s, symptom_kinds), then
// `param.<name>` for every parameter and `metric.<name>` for every metric seen in any record,
// sorted by name; a run without a parameter or metric leaves its cell empty. Numbers are written in
// their shortest exact form, so they read back to the same double.
std::string export_csv(const std::vector<Record>& records);

// Text made safe for XML 1.0 character data and attribute values: & < > " ' escaped, and the
// control characters XML cannot hold at all replaced by U+FFFD.
std::string xml_escape(std::string_view text);

// One <testsuite> per scenario.variant.sanitizer and one <testcase> per experiment key and its
// expectation (named by the parameters and injections), judged over all its runs as the run
// summary and the exit code judge it: <failure> exactly when the expectation was missed (with
// the expected, the verdict, the outcome counts, and an example run's report text and top
// frames), <error> when every run was unknown, <skipped> when nothing is expected of it.
std::string export_junit(const std::vector<Record>& records, const std::string& suite_name);

}  // namespace faultline
