// faultline report: results files as one self-contained HTML page (docs/report.md). No script,
// no network: inline CSS and SVG. Per scenario: the verdict of every experiment against its
// expectation with the Wilson interval drawn, the detector matrix, the rate over each swept
// axis, latency distributions merged across runs, a timeline per run (capped), the symptom
// reports folded with their frames, and the builds and hosts the runs came from. Every number
// a figure draws is also in the page as text or a data- attribute.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "harness/record/record.h"

namespace faultline {

struct ReportOptions {
  std::vector<std::string> sources;       // the results files, as named on the command line
  std::string generated_at;               // ISO 8601, UTC
  std::size_t timeline_runs = 12;         // per scenario, as Jepsen caps its timelines
  std::vector<std::string> metrics = {};  // also drawn over each swept axis (median, range)
};

std::string render_report(const std::vector<Record>& records, const ReportOptions& options);

}  // namespace faultline
