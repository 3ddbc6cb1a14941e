#include "harness/export.h"

#include <fmt/format.h>

#include <map>
#include <set>

#include "harness/summary.h"

namespace faultline {

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

namespace {

// Parameters are strings in the record; anything else is written as its JSON text.
std::string as_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return fmt::format("{}", v.get<double>());
  return v.dump();
}

std::string metric_text(const nlohmann::json& entry) {
  const nlohmann::json& v = entry.is_object() ? entry.value("value", nlohmann::json()) : entry;
  if (v.is_number_float()) return fmt::format("{}", v.get<double>());  // shortest exact form
  if (v.is_number()) return v.dump();
  return "";
}

std::string symptom_kinds(const nlohmann::json& r) {
  std::vector<std::string> kinds;
  for (const auto& s : r["symptoms"]) {
    std::string kind = s.value("kind", "");
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) kinds.push_back(kind);
  }
  return fmt::format("{}", fmt::join(kinds, ";"));
}

}  // namespace

std::string export_csv(const std::vector<nlohmann::json>& records) {
  std::set<std::string> params;
  std::set<std::string> metrics;
  for (const auto& r : records) {
    for (const auto& [k, v] : r["params"].items()) params.insert(k);
    for (const auto& [k, v] : r["metrics"].items()) metrics.insert(k);
  }
  std::vector<std::string> header = {
      "key",  "run_id",  "scenario",       "variant",    "sanitizer",    "repeat_index",
      "seed", "verdict", "verdict_reason", "duration_s", "symptom_kinds"};
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
    std::vector<std::string> row = {r["key"].get<std::string>(),
                                    r["run_id"].get<std::string>(),
                                    r["scenario"].get<std::string>(),
                                    r["variant"].get<std::string>(),
                                    r["sanitizer"].get<std::string>(),
                                    r["repeat_index"].dump(),
                                    r["seed"].dump(),
                                    r["verdict"].get<std::string>(),
                                    r["verdict_reason"].get<std::string>(),
                                    fmt::format("{}", r["duration_s"].get<double>()),
                                    symptom_kinds(r)};
    for (const auto& p : params)
      row.push_back(r["params"].contains(p) ? as_text(r["params"][p]) : "");
    for (const auto& m : metrics) {
      row.push_back(r["metrics"].contains(m) ? metric_text(r["metrics"][m]) : "");
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

std::string export_junit(const std::vector<nlohmann::json>& records,
                         const std::string& suite_name) {
  struct Case {
    std::string name;
    double time = 0;
    std::string kind;  // "", "failure" or "error"
    std::string message;
    std::string body;
  };
  std::vector<std::string> order;
  std::map<std::string, std::vector<Case>> suites;
  std::size_t failures = 0;
  std::size_t errors = 0;
  double total_time = 0;
  for (const auto& r : records) {
    const std::string variant = r["variant"].get<std::string>();
    const std::string classname = fmt::format("{}.{}.{}", r["scenario"].get<std::string>(), variant,
                                              r["sanitizer"].get<std::string>());
    if (!suites.count(classname)) order.push_back(classname);
    Case c;
    std::string params;
    for (const auto& [k, v] : r["params"].items()) {
      if (!params.empty()) params += ',';
      params += k + "=" + as_text(v);
    }
    c.name = fmt::format("{} #{}", params.empty() ? "-" : params, r["repeat_index"].dump());
    c.time = r["duration_s"].get<double>();
    total_time += c.time;
    const std::string verdict = r["verdict"].get<std::string>();
    const std::string kinds = symptom_kinds(r);
    const Expectation expectation = expectation_of(variant);
    if (verdict == "unknown") {
      c.kind = "error";
      c.message = "unknown: " + r["verdict_reason"].get<std::string>();
    } else if (expectation == Expectation::kReproduce && verdict == "passed") {
      c.kind = "failure";
      c.message = "the buggy variant did not reproduce the incident";
    } else if (expectation == Expectation::kClean && verdict == "failed") {
      c.kind = "failure";
      c.message = "the fixed variant showed the incident: " + kinds;
    }
    if (!c.kind.empty()) {
      (c.kind == "error" ? errors : failures)++;
      c.body = fmt::format("key: {}\nseed: {}\nverdict: {} ({})\nsymptoms: {}\nreplay: {}\n",
                           r["key"].get<std::string>(), r["seed"].dump(), verdict,
                           r["verdict_reason"].get<std::string>(), kinds.empty() ? "-" : kinds,
                           r["replay"].get<std::string>());
    }
    suites[classname].push_back(std::move(c));
  }

  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format(
      "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3f}\">\n",
      xml_escape(suite_name), records.size(), failures, errors, total_time);
  for (const auto& classname : order) {
    const auto& cases = suites[classname];
    std::size_t f = 0, e = 0;
    double t = 0;
    for (const auto& c : cases) {
      f += c.kind == "failure";
      e += c.kind == "error";
      t += c.time;
    }
    out += fmt::format(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3f}\">\n",
        xml_escape(classname), cases.size(), f, e, t);
    for (const auto& c : cases) {
      out += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\"",
                         xml_escape(classname), xml_escape(c.name), c.time);
      if (c.kind.empty()) {
        out += "/>\n";
        continue;
      }
      out += fmt::format(">\n      <{} message=\"{}\">{}</{}>\n    </testcase>\n", c.kind,
                         xml_escape(c.message), xml_escape(c.body), c.kind);
    }
    out += "  </testsuite>\n";
  }
  out += "</testsuites>\n";
  return out;
}

}  // namespace faultline
