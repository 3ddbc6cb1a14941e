#include "harness/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "harness/catalog.h"
#include "harness/export.h"
#include "harness/summary.h"

namespace faultline {

std::string GroupKey::params_text() const {
  if (params.empty()) return "-";
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += ',';
    out += k + "=" + v;
  }
  return out;
}

std::string GroupKey::label() const {
  return fmt::format("{} {} {} {}", scenario, variant, sanitizer, params_text());
}

GroupKey group_key_of(const nlohmann::json& r) {
  GroupKey key;
  key.scenario = r.value("scenario", "");
  key.variant = r.value("variant", "");
  key.sanitizer = r.value("sanitizer", "");
  for (const auto& [k, v] : r.at("params").items()) {
    key.params[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  // Runs under different faults are different experiments: the injected faults are part of the
  // key, shown like parameters (records without them match records of older versions).
  auto specs = [](const nlohmann::json& list) {
    std::string out;
    if (!list.is_array()) return out;
    for (const auto& f : list) {
      const std::string text = f.is_object()   ? f.value("spec", "")
                               : f.is_string() ? f.get<std::string>()
                                               : "";
      out += (out.empty() ? "" : ";") + text;
    }
    return out;
  };
  if (auto f = specs(r.value("faults", nlohmann::json::array())); !f.empty())
    key.params["@fault"] = f;
  if (r.contains("perturb") && r["perturb"].is_string()) key.params["@perturb"] = r["perturb"];
  if (auto n = specs(r.value("nemesis", nlohmann::json::array())); !n.empty())
    key.params["@nemesis"] = n;
  return key;
}

FailOn parse_fail_on(const std::string& text) {
  if (text == "regression") return FailOn::kRegression;
  if (text == "any") return FailOn::kAny;
  if (text == "none") return FailOn::kNone;
  throw UsageError(fmt::format("--fail-on '{}' is not known: use regression, any or none", text));
}

Better metric_better(const std::string& name, const std::vector<std::string>& higher_is_better) {
  if (std::find(higher_is_better.begin(), higher_is_better.end(), name) != higher_is_better.end()) {
    return Better::kHigher;
  }
  static const std::set<std::string> kGoodWords = {
      "throughput", "goodput", "qps", "rps", "ops", "success", "successes", "completed", "hits"};
  std::vector<std::string> words;
  std::string word;
  for (char c : name + "_") {
    if (c == '_' || c == '-' || c == '.') {
      if (!word.empty()) words.push_back(word);
      word.clear();
    } else {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (kGoodWords.count(words[i])) return Better::kHigher;
    if (words[i] == "per" && i + 1 < words.size() &&
        (words[i + 1] == "s" || words[i + 1] == "sec" || words[i + 1] == "second")) {
      return Better::kHigher;
    }
  }
  return Better::kLower;
}

double RateComparison::rate_a() const {
  return decided_a ? static_cast<double>(failed_a) / static_cast<double>(decided_a) : 0.0;
}
double RateComparison::rate_b() const {
  return decided_b ? static_cast<double>(failed_b) / static_cast<double>(decided_b) : 0.0;
}

std::size_t ComparisonReport::regressions() const {
  std::size_t n = 0;
  for (const auto& g : groups) {
    n += g.rate.regression ? 1 : 0;
    for (const auto& m : g.metrics) n += m.regression ? 1 : 0;
  }
  return n;
}

std::size_t ComparisonReport::significant_changes() const {
  std::size_t n = 0;
  for (const auto& g : groups) {
    n += g.rate.significant ? 1 : 0;
    for (const auto& m : g.metrics) n += m.significant ? 1 : 0;
  }
  return n;
}

namespace {

struct Side {
  std::size_t runs = 0;
  std::uint64_t failed = 0, passed = 0, unknown = 0;
  std::map<std::string, std::vector<double>> metrics;  // from decided runs only
  std::map<std::string, std::string> units;
};

std::map<GroupKey, Side> group(const std::vector<nlohmann::json>& records, const std::string& name,
                               std::vector<std::string>& warnings) {
  std::map<GroupKey, Side> out;
  for (const auto& r : records) {
    Side& side = out[group_key_of(r)];
    ++side.runs;
    const std::string verdict = r.value("verdict", "unknown");
    if (verdict == "failed") {
      ++side.failed;
    } else if (verdict == "passed") {
      ++side.passed;
    } else {
      // An unknown run did not complete: its numbers describe a partial run, so they would blur
      // the comparison of the runs that did.
      ++side.unknown;
      continue;
    }
    for (const auto& [metric, entry] : r["metrics"].items()) {
      const nlohmann::json* value = nullptr;
      if (entry.is_object() && entry.contains("value")) value = &entry["value"];
      if (entry.is_number()) value = &entry;
      if (!value || !value->is_number()) {
        warnings.push_back(fmt::format("{}: run {}: metric '{}' has no numeric value; skipped",
                                       name, r.value("key", "?"), metric));
        continue;
      }
      side.metrics[metric].push_back(value->get<double>());
      if (entry.is_object() && entry.contains("unit") && entry["unit"].is_string()) {
        side.units[metric] = entry["unit"].get<std::string>();
      }
    }
  }
  return out;
}

RateComparison compare_rates(const Side& a, const Side& b, const std::string& variant,
                             double alpha) {
  RateComparison rc;
  rc.failed_a = a.failed;
  rc.decided_a = a.failed + a.passed;
  rc.unknown_a = a.unknown;
  rc.failed_b = b.failed;
  rc.decided_b = b.failed + b.passed;
  rc.unknown_b = b.unknown;
  rc.interval_a = wilson_interval(rc.failed_a, rc.decided_a);
  rc.interval_b = wilson_interval(rc.failed_b, rc.decided_b);
  rc.p_value = fisher_exact_two_sided(a.failed, a.passed, b.failed, b.passed);
  rc.significant = rc.p_value < alpha;
  switch (expectation_of(variant)) {
    case Expectation::kClean:  // a fix that stopped holding
      rc.regression = rc.significant && rc.rate_b() > rc.rate_a();
      break;
    case Expectation::kReproduce:  // the harness lost its power to show the incident
      rc.regression = rc.significant && rc.rate_b() < rc.rate_a();
      break;
    case Expectation::kNone:
      rc.regression = false;
      break;
  }
  return rc;
}

}  // namespace

ComparisonReport compare_records(const std::vector<nlohmann::json>& a,
                                 const std::vector<nlohmann::json>& b,
                                 const CompareOptions& options, const std::string& name_a,
                                 const std::string& name_b) {
  ComparisonReport report;
  report.name_a = name_a;
  report.name_b = name_b;
  report.runs_a = a.size();
  report.runs_b = b.size();
  report.alpha = options.alpha;
  auto side_a = group(a, name_a, report.warnings);
  auto side_b = group(b, name_b, report.warnings);

  for (const auto& [key, sa] : side_a) {
    auto it = side_b.find(key);
    if (it == side_b.end()) {
      report.only_in_a.push_back({key, sa.runs});
      continue;
    }
    const Side& sb = it->second;
    GroupComparison gc;
    gc.key = key;
    gc.runs_a = sa.runs;
    gc.runs_b = sb.runs;
    gc.rate = compare_rates(sa, sb, key.variant, options.alpha);

    std::set<std::string> names;
    for (const auto& [m, values] : sa.metrics) names.insert(m);
    for (const auto& [m, values] : sb.metrics) names.insert(m);
    for (const auto& name : names) {
      if (!options.metrics.empty() && std::find(options.metrics.begin(), options.metrics.end(),
                                                name) == options.metrics.end()) {
        continue;
      }
      static const std::vector<double> kNone;
      auto ia = sa.metrics.find(name);
      auto ib = sb.metrics.find(name);
      const auto& va = ia == sa.metrics.end() ? kNone : ia->second;
      const auto& vb = ib == sb.metrics.end() ? kNone : ib->second;
      MetricComparison mc;
      mc.name = name;
      if (auto u = sa.units.find(name); u != sa.units.end()) mc.unit = u->second;
      if (auto u = sb.units.find(name); u != sb.units.end()) mc.unit = u->second;
      mc.n_a = va.size();
      mc.n_b = vb.size();
      mc.median_a = median(va);
      mc.median_b = median(vb);
      if (mc.n_a && mc.n_b && mc.median_a != 0) {
        mc.relative_change = (mc.median_b - mc.median_a) / std::abs(mc.median_a);
      }
      mc.better = metric_better(name, options.higher_is_better);
      mc.test = mann_whitney_u(va, vb);
      if (mc.test.method != UTestMethod::kNone) {
        mc.significant = mc.test.p_value < options.alpha;
        mc.b_higher = mc.test.u < static_cast<double>(mc.n_a * mc.n_b) / 2;
        mc.regression = mc.significant && (mc.better == Better::kLower) == mc.b_higher;
      }
      gc.metrics.push_back(std::move(mc));
    }
    report.groups.push_back(std::move(gc));
  }
  for (const auto& [key, sb] : side_b) {
    if (!side_a.count(key)) report.only_in_b.push_back({key, sb.runs});
  }
  return report;
}

int compare_exit_code(const ComparisonReport& report, FailOn fail_on) {
  switch (fail_on) {
    case FailOn::kRegression:
      return report.regressions() > 0 ? 1 : 0;
    case FailOn::kAny:
      return report.significant_changes() > 0 || !report.only_in_a.empty() ||
                     !report.only_in_b.empty()
                 ? 1
                 : 0;
    case FailOn::kNone:
      return 0;
  }
  return 0;
}

namespace {

std::string percent(double x) {
  return fmt::format("{:.0f}%", 100 * x);
}

std::string rate_cell(std::uint64_t failed, std::uint64_t decided, const Interval& ci,
                      std::uint64_t unknown) {
  std::string out =
      fmt::format("{}/{} [{}, {}]", failed, decided, percent(ci.low), percent(ci.high));
  if (unknown) out += fmt::format(" +{}?", unknown);
  return out;
}

std::string number(double v) {
  return fmt::format("{:.4g}", v);
}

std::string rate_change(const RateComparison& r) {
  if (!r.decided_a || !r.decided_b) return "n/a";
  return fmt::format("{:+.0f} pts", 100 * (r.rate_b() - r.rate_a()));
}

std::string metric_change(const MetricComparison& m) {
  if (!m.relative_change) return "n/a";
  return fmt::format("{:+.1f}%", 100 * *m.relative_change);
}

std::string rate_flag(const RateComparison& r, const std::string& variant) {
  if (r.regression) {
    return expectation_of(variant) == Expectation::kClean
               ? "REGRESSION: the fix shows the incident more often"
               : "REGRESSION: reproduces less often (the harness lost power)";
  }
  if (r.significant) return "changed";
  return "";
}

std::string metric_flag(const MetricComparison& m) {
  if (m.test.method == UTestMethod::kNone) return m.n_a ? "only in A" : "only in B";
  if (m.regression) {
    return m.better == Better::kLower ? "REGRESSION: higher (lower is better)"
                                      : "REGRESSION: lower (higher is better)";
  }
  if (m.significant) return m.b_higher ? "better: higher" : "better: lower";
  return "";
}

std::string test_name(const MetricComparison& m) {
  if (m.test.method == UTestMethod::kNone) return "-";
  return fmt::format("MWU U={} {}", number(m.test.u), utest_method_name(m.test.method));
}

std::string p_text(double p) {
  return p < 0.0001 ? "<0.0001" : fmt::format("{:.4f}", p);
}

std::string metric_cell(double median, std::size_t n) {
  return n ? fmt::format("{} (n={})", number(median), n) : "-";
}

std::string metric_label(const MetricComparison& m) {
  return m.unit.empty() ? m.name : fmt::format("{} ({})", m.name, m.unit);
}

std::string lone_line(const LoneGroup& g) {
  return fmt::format("{} ({} run{})", g.key.label(), g.runs, g.runs == 1 ? "" : "s");
}

std::string closing_line(const ComparisonReport& r) {
  return fmt::format(
      "{} group{} compared at alpha {}: {} significant change{}, {} regression{}; {} only in A, "
      "{} only in B",
      r.groups.size(), r.groups.size() == 1 ? "" : "s", r.alpha, r.significant_changes(),
      r.significant_changes() == 1 ? "" : "s", r.regressions(), r.regressions() == 1 ? "" : "s",
      r.only_in_a.size(), r.only_in_b.size());
}

}  // namespace

std::string render_compare_table(const ComparisonReport& r) {
  std::string out =
      fmt::format("A: {} ({} runs)\nB: {} ({} runs)\n", r.name_a, r.runs_a, r.name_b, r.runs_b);
  out +=
      "reproduced: failed/decided runs, 95% Wilson interval, +N? unknown runs (not counted); "
      "Fisher's exact test.\nmetrics: median (n) over decided runs; Mann-Whitney U, exact or "
      "normal approximation.\n";
  const std::string row = "  {:<26} {:<24} {:<24} {:>10}  {:<22} {:>8}  {}\n";
  for (const auto& g : r.groups) {
    out += fmt::format("\n{}\n", g.key.label());
    out += fmt::format(fmt::runtime(row), "measure", "A", "B", "change", "test", "p", "");
    out += fmt::format(
        fmt::runtime(row), "reproduced",
        rate_cell(g.rate.failed_a, g.rate.decided_a, g.rate.interval_a, g.rate.unknown_a),
        rate_cell(g.rate.failed_b, g.rate.decided_b, g.rate.interval_b, g.rate.unknown_b),
        rate_change(g.rate), "Fisher exact", p_text(g.rate.p_value),
        rate_flag(g.rate, g.key.variant));
    for (const auto& m : g.metrics) {
      out += fmt::format(fmt::runtime(row), metric_label(m), metric_cell(m.median_a, m.n_a),
                         metric_cell(m.median_b, m.n_b), metric_change(m), test_name(m),
                         m.test.method == UTestMethod::kNone ? "-" : p_text(m.test.p_value),
                         metric_flag(m));
    }
  }
  if (!r.only_in_a.empty()) {
    out += "\nonly in A (not compared):\n";
    for (const auto& g : r.only_in_a) out += "  " + lone_line(g) + "\n";
  }
  if (!r.only_in_b.empty()) {
    out += "\nonly in B (not compared):\n";
    for (const auto& g : r.only_in_b) out += "  " + lone_line(g) + "\n";
  }
  out += "\n" + closing_line(r) + "\n";
  return out;
}

std::string render_compare_markdown(const ComparisonReport& r) {
  auto cell = [](std::string s) {
    std::string out;
    for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
    return out;
  };
  std::string out = fmt::format("A: `{}` ({} runs), B: `{}` ({} runs), alpha {}\n\n", r.name_a,
                                r.runs_a, r.name_b, r.runs_b, r.alpha);
  out += "| group | measure | A | B | change | test | p | flag |\n";
  out += "|---|---|---|---|---|---|---|---|\n";
  for (const auto& g : r.groups) {
    const std::string label = cell(g.key.label());
    out += fmt::format(
        "| {} | reproduced | {} | {} | {} | Fisher exact | {} | {} |\n", label,
        cell(rate_cell(g.rate.failed_a, g.rate.decided_a, g.rate.interval_a, g.rate.unknown_a)),
        cell(rate_cell(g.rate.failed_b, g.rate.decided_b, g.rate.interval_b, g.rate.unknown_b)),
        rate_change(g.rate), p_text(g.rate.p_value),
        g.rate.regression ? "**" + rate_flag(g.rate, g.key.variant) + "**"
                          : rate_flag(g.rate, g.key.variant));
    for (const auto& m : g.metrics) {
      out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} |\n", label,
                         cell(metric_label(m)), metric_cell(m.median_a, m.n_a),
                         metric_cell(m.median_b, m.n_b), metric_change(m), test_name(m),
                         m.test.method == UTestMethod::kNone ? "-" : p_text(m.test.p_value),
                         m.regression ? "**" + metric_flag(m) + "**" : metric_flag(m));
    }
  }
  for (const auto& [title, lone] : {std::pair{"A", &r.only_in_a}, std::pair{"B", &r.only_in_b}}) {
    if (lone->empty()) continue;
    out += fmt::format("\nOnly in {}:\n\n", title);
    for (const auto& g : *lone) out += "- " + cell(lone_line(g)) + "\n";
  }
  out += "\n" + closing_line(r) + "\n";
  return out;
}

std::string render_compare_csv(const ComparisonReport& r) {
  std::string out =
      "scenario,variant,sanitizer,params,measure,unit,n_a,n_b,a,b,a_low,a_high,b_low,b_high,"
      "change,change_kind,test,statistic,p_value,significant,regression\n";
  auto row = [&](const GroupKey& k, std::vector<std::string> cells) {
    std::vector<std::string> all = {k.scenario, k.variant, k.sanitizer, k.params_text()};
    all.insert(all.end(), cells.begin(), cells.end());
    std::string line;
    for (const auto& c : all) line += (line.empty() ? "" : ",") + csv_field(c);
    out += line + "\n";
  };
  auto num = [](double v) { return fmt::format("{}", v); };
  for (const auto& g : r.groups) {
    const auto& rc = g.rate;
    row(g.key, {"reproduced", "", std::to_string(rc.decided_a), std::to_string(rc.decided_b),
                num(rc.rate_a()), num(rc.rate_b()), num(rc.interval_a.low), num(rc.interval_a.high),
                num(rc.interval_b.low), num(rc.interval_b.high),
                rc.decided_a && rc.decided_b ? num(rc.rate_b() - rc.rate_a()) : "", "difference",
                "fisher_exact", "", num(rc.p_value), rc.significant ? "true" : "false",
                rc.regression ? "true" : "false"});
    for (const auto& m : g.metrics) {
      const bool tested = m.test.method != UTestMethod::kNone;
      row(g.key, {m.name, m.unit, std::to_string(m.n_a), std::to_string(m.n_b),
                  m.n_a ? num(m.median_a) : "", m.n_b ? num(m.median_b) : "", "", "", "", "",
                  m.relative_change ? num(*m.relative_change) : "", "relative",
                  tested ? "mann_whitney_" + utest_method_name(m.test.method) : "",
                  tested ? num(m.test.u) : "", tested ? num(m.test.p_value) : "",
                  m.significant ? "true" : "false", m.regression ? "true" : "false"});
    }
  }
  return out;
}

nlohmann::json compare_to_json(const ComparisonReport& r) {
  using nlohmann::json;
  auto key_json = [](const GroupKey& k) {
    return json{{"scenario", k.scenario},
                {"variant", k.variant},
                {"sanitizer", k.sanitizer},
                {"params", k.params}};
  };
  json groups = json::array();
  for (const auto& g : r.groups) {
    json j = key_json(g.key);
    j["runs_a"] = g.runs_a;
    j["runs_b"] = g.runs_b;
    const auto& rc = g.rate;
    j["reproduction"] = {{"a",
                          {{"failed", rc.failed_a},
                           {"decided", rc.decided_a},
                           {"unknown", rc.unknown_a},
                           {"rate", rc.rate_a()},
                           {"interval", {rc.interval_a.low, rc.interval_a.high}}}},
                         {"b",
                          {{"failed", rc.failed_b},
                           {"decided", rc.decided_b},
                           {"unknown", rc.unknown_b},
                           {"rate", rc.rate_b()},
                           {"interval", {rc.interval_b.low, rc.interval_b.high}}}},
                         {"test", "fisher_exact_two_sided"},
                         {"p_value", rc.p_value},
                         {"significant", rc.significant},
                         {"regression", rc.regression}};
    json metrics = json::array();
    for (const auto& m : g.metrics) {
      json mj = {{"name", m.name},
                 {"unit", m.unit},
                 {"n_a", m.n_a},
                 {"n_b", m.n_b},
                 {"median_a", m.n_a ? json(m.median_a) : json(nullptr)},
                 {"median_b", m.n_b ? json(m.median_b) : json(nullptr)},
                 {"relative_change", m.relative_change ? json(*m.relative_change) : json(nullptr)},
                 {"better", m.better == Better::kLower ? "lower" : "higher"},
                 {"test", "mann_whitney_u_two_sided"},
                 {"method", utest_method_name(m.test.method)},
                 {"ties", m.test.ties},
                 {"u", m.test.u},
                 {"p_value", m.test.p_value},
                 {"significant", m.significant},
                 {"regression", m.regression}};
      metrics.push_back(std::move(mj));
    }
    j["metrics"] = std::move(metrics);
    groups.push_back(std::move(j));
  }
  auto lone = [&](const std::vector<LoneGroup>& v) {
    json out = json::array();
    for (const auto& g : v) {
      json j = key_json(g.key);
      j["runs"] = g.runs;
      out.push_back(std::move(j));
    }
    return out;
  };
  return json{{"a", {{"file", r.name_a}, {"runs", r.runs_a}}},
              {"b", {{"file", r.name_b}, {"runs", r.runs_b}}},
              {"alpha", r.alpha},
              {"groups", std::move(groups)},
              {"only_in_a", lone(r.only_in_a)},
              {"only_in_b", lone(r.only_in_b)},
              {"significant_changes", r.significant_changes()},
              {"regressions", r.regressions()},
              {"warnings", r.warnings}};
}

}  // namespace faultline
