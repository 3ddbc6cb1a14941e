#include "harness/render/export.h"

#include <fmt/format.h>
#include <unistd.h>

#include <ctime>
#include <map>
#include <set>

#include "harness/judge/summary.h"
#include "harness/record/experiment_key.h"
#include "harness/record/record.h"

namespace faultline {

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

namespace {

std::string metric_text(const Metric& m) {
  return fmt::format("{}", m.value);  // the shortest form that reads back to the same value
}

}  // namespace

std::string export_csv(const std::vector<Record>& records) {
  std::set<std::string> params;
  std::set<std::string> metrics;
  for (const auto& r : records) {
    for (const auto& [k, v] : r.params) params.insert(k);
    for (const auto& [k, v] : r.metrics) metrics.insert(k);
  }
  std::vector<std::string> header = {
      "key",  "run_id",  "scenario",       "variant",     "sanitizer",  "repeat_index",
      "seed", "verdict", "verdict_reason", "expectation", "duration_s", "symptom_kinds"};
  for (const auto& p : params) header.push_back("param." + p);
  for (const auto& m : metrics) header.push_back("metric." + m);

  std::string out;
  auto emit = [&out](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i) out += ',';
      out += csv_field(cells[i]);
    }
    out += "\r\n";  // RFC 4180 line ends, which spreadsheets and csv readers expect
  };
  emit(header);
  for (const auto& r : records) {
    const Judgement j = judge_record(r);
    std::vector<std::string> row = {run_key_of(r),
                                    r.run_id,
                                    r.scenario,
                                    r.variant,
                                    r.sanitizer,
                                    std::to_string(r.repeat_index),
                                    std::to_string(r.seed),
                                    std::string(outcome_name(j.outcome)),
                                    j.reason,
                                    r.expectation.text(),
                                    fmt::format("{}", r.duration_s),
                                    fmt::format("{}", fmt::join(r.symptom_kinds(), ";"))};
    for (const auto& p : params) {
      auto it = r.params.find(p);
      row.push_back(it == r.params.end() ? "" : it->second);
    }
    for (const auto& m : metrics) {
      auto it = r.metrics.find(m);
      row.push_back(it == r.metrics.end() ? "" : metric_text(it->second));
    }
    emit(row);
  }
  return out;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // XML 1.0 has no way to write these, not even as references.
        if ((u < 0x20 && c != '\t' && c != '\n' && c != '\r') || u == 0x7f) {
          out += "\xef\xbf\xbd";
        } else {
          out += c;
        }
    }
  }
  return out;
}

namespace {

// The body of a testcase that missed: what was expected, what the runs did, and the example
// run's report text with its top frames, so a CI page shows the evidence.
std::string failure_body(const GroupSummary& g) {
  std::string body = fmt::format("key: {}\nexpected: {}\nverdict: {}\n", g.key.label(),
                                 g.expectation.text(), group_verdict_text(g));
  std::vector<std::string> counts;
  for (const auto& [outcome, n] : g.outcomes) {
    counts.push_back(fmt::format("{} {}", outcome_name(outcome), n));
  }
  body += fmt::format("runs: {} ({})\n", g.runs, fmt::join(counts, ", "));
  for (const auto& reason : g.unknown_reasons) body += "unknown: " + reason + "\n";
  if (!g.example) return body;
  const Record& r = *g.example;
  const Judgement j = judge_record(r);
  body += fmt::format("example run: {} seed {} -> {} ({})\nreplay: {}\n", r.run_id, r.seed,
                      outcome_name(j.outcome), j.reason, r.replay);
  for (const auto& s : r.symptoms) {
    body += fmt::format("\nsymptom {} ({}): {}\n", s.kind, s.source, s.summary);
    std::size_t shown = 0;
    for (const auto& f : s.frames) {
      if (shown++ == 5) break;
      body += fmt::format("  #{} {} {}\n", shown - 1, f.function, f.location);
    }
    std::string report = s.report;
    if (report.size() > 4000) report = report.substr(0, 4000) + "\n[report cut]\n";
    if (!report.empty()) body += report + (report.back() == '\n' ? "" : "\n");
  }
  return body;
}

std::string iso_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

// One testcase: an experiment judged over all its runs.
struct Case {
  std::string name, kind, message, body, out;  // kind: "", failure, error or skipped
  double time = 0;
};

Case case_of(const GroupSummary& g) {
  Case c;
  c.name = g.key.params_text() + g.key.injection_text();
  c.time = g.median_duration_s * static_cast<double>(g.runs);
  c.out = fmt::format("expected: {}\n{}: {}\n", g.expectation.text(), group_status_name(g.status),
                      group_verdict_text(g));
  c.message = group_verdict_text(g);
  switch (g.status) {
    case GroupStatus::kMet:
      c.message.clear();
      break;
    case GroupStatus::kMissed:
      c.kind = "failure";
      c.body = failure_body(g);
      break;
    case GroupStatus::kUnknown:
      c.kind = "error";
      c.body = failure_body(g);
      break;
    case GroupStatus::kNotJudged:
      c.kind = "skipped";
      break;
  }
  return c;
}

struct Counts {
  std::size_t tests = 0, failures = 0, errors = 0, skipped = 0;
  double time = 0;
  explicit Counts(const std::vector<Case>& cases) {
    for (const auto& c : cases) {
      ++tests;
      failures += c.kind == "failure";
      errors += c.kind == "error";
      skipped += c.kind == "skipped";
      time += c.time;
    }
  }
};

std::string testcase_xml(const std::string& classname, const Case& c) {
  std::string out = fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\">\n",
                                xml_escape(classname), xml_escape(c.name), c.time);
  if (c.kind == "skipped") {
    out += fmt::format("      <skipped message=\"{}\"/>\n", xml_escape(c.message));
  } else if (!c.kind.empty()) {
    out += fmt::format("      <{} message=\"{}\">{}</{}>\n", c.kind, xml_escape(c.message),
                       xml_escape(c.body), c.kind);
  }
  return out +
         fmt::format("      <system-out>{}</system-out>\n    </testcase>\n", xml_escape(c.out));
}

}  // namespace

std::string export_junit(const std::vector<Record>& records, const std::string& suite_name) {
  std::vector<std::string> order;  // suites in order of first appearance
  std::map<std::string, std::vector<Case>> suites;
  std::vector<Case> every;
  for (const auto& g : summarise(records)) {
    const std::string classname =
        fmt::format("{}.{}.{}", g.key.scenario, g.key.variant, g.key.sanitizer);
    if (!suites.count(classname)) order.push_back(classname);
    suites[classname].push_back(case_of(g));
    every.push_back(suites[classname].back());
  }
  const std::string timestamp = iso_now();
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const Counts all(every);
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format(
      "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" "
      "time=\"{:.3f}\" timestamp=\"{}\">\n",
      xml_escape(suite_name), all.tests, all.failures, all.errors, all.skipped, all.time,
      timestamp);
  for (const auto& classname : order) {
    const auto& cases = suites[classname];
    const Counts n(cases);
    out += fmt::format(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" "
        "time=\"{:.3f}\" timestamp=\"{}\" hostname=\"{}\">\n",
        xml_escape(classname), n.tests, n.failures, n.errors, n.skipped, n.time, timestamp,
        xml_escape(host));
    for (const auto& c : cases) out += testcase_xml(classname, c);
    out += "  </testsuite>\n";
  }
  return out + "</testsuites>\n";
}

}  // namespace faultline
