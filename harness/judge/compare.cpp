#include "harness/judge/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

#include "harness/judge/summary.h"
#include "harness/plan/catalog.h"
#include "harness/render/export.h"

namespace faultline {

std::string CompareBy::text() const {
  switch (axis) {
    case Axis::kFile:
      return "file";
    case Axis::kVariant:
      return "variant";
    case Axis::kSanitizer:
      return "sanitizer";
    case Axis::kParam:
      return "param=" + param;
    case Axis::kFault:
      return "fault";
    case Axis::kPerturb:
      return "perturb";
    case Axis::kNemesis:
      return "nemesis";
    case Axis::kLimits:
      return "limits";
  }
  return "file";
}

CompareBy parse_compare_by(const std::string& text) {
  static const std::pair<const char*, Axis> kAxes[] = {
      {"file", Axis::kFile},    {"variant", Axis::kVariant}, {"sanitizer", Axis::kSanitizer},
      {"fault", Axis::kFault},  {"perturb", Axis::kPerturb}, {"nemesis", Axis::kNemesis},
      {"limits", Axis::kLimits}};
  for (const auto& [name, axis] : kAxes) {
    if (text == name) return {axis, ""};
  }
  if (text.rfind("param=", 0) == 0 && text.size() > 6) return {Axis::kParam, text.substr(6)};
  throw UsageError(fmt::format(
      "--by '{}' is not an axis: use file, variant, sanitizer, param=NAME, fault, perturb, "
      "nemesis or limits",
      text));
}

std::string axis_value(const CompareBy& by, const Record& record) {
  ExperimentKey k = experiment_key_of(record);
  switch (by.axis) {
    case Axis::kFile:
      return "";
    case Axis::kVariant:
      return k.variant;
    case Axis::kSanitizer:
      return k.sanitizer;
    case Axis::kParam: {
      auto it = k.params.find(by.param);
      return it == k.params.end() ? "" : it->second;
    }
    case Axis::kFault:
      return fmt::format("{}", fmt::join(k.faults, ";"));
    case Axis::kPerturb:
      return k.perturb;
    case Axis::kNemesis:
      return fmt::format("{}", fmt::join(k.nemesis, ";"));
    case Axis::kLimits:
      return key_value_text(k.limits);
  }
  return "";
}

ExperimentKey key_without(const CompareBy& by, const Record& record) {
  ExperimentKey k = experiment_key_of(record);
  switch (by.axis) {
    case Axis::kFile:
      break;
    case Axis::kVariant:
      k.variant = "*";
      break;
    case Axis::kSanitizer:
      k.sanitizer = "*";
      break;
    case Axis::kParam:
      k.params.erase(by.param);
      break;
    case Axis::kFault:
      k.faults.clear();
      break;
    case Axis::kPerturb:
      k.perturb.clear();
      break;
    case Axis::kNemesis:
      k.nemesis.clear();
      break;
    case Axis::kLimits:
      k.limits.clear();
      break;
  }
  return k;
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
  std::uint64_t hits = 0, misses = 0, unknown = 0;
  std::vector<Expect> expects;                         // every expectation seen on this side
  std::map<std::string, std::vector<double>> metrics;  // from decided runs only
  std::map<std::string, std::string> units;
  std::map<std::string, RecordedHistogram> histograms;  // merged over decided runs
  std::map<std::string, std::size_t> histogram_runs;
};

void add_run(Side& side, const Record& r) {
  ++side.runs;
  const Expectation& e = r.expectation;
  if (std::find(side.expects.begin(), side.expects.end(), e.expect) == side.expects.end()) {
    side.expects.push_back(e.expect);
  }
  const Outcome outcome = judge(facts_of(r), e).outcome;
  if (!is_decided(outcome)) {
    // An unknown run did not complete: its numbers describe a partial run, so they would blur
    // the comparison of the runs that did.
    ++side.unknown;
    return;
  }
  ++(is_hit(outcome) ? side.hits : side.misses);
  for (const auto& [metric, m] : r.metrics) {
    side.metrics[metric].push_back(m.value);
    if (!m.unit.empty()) side.units[metric] = m.unit;
  }
  // The driver's own measure of how soon the run showed its symptom, compared like a metric.
  if (r.first_symptom_s) {
    side.metrics[std::string(kFirstSymptomMetric)].push_back(*r.first_symptom_s);
    side.units[std::string(kFirstSymptomMetric)] = "s";
  }
  for (const auto& [name, h] : r.histograms) {
    auto [it, fresh] = side.histograms.try_emplace(name, h);
    if (!fresh) it->second.histogram.merge(h.histogram);
    ++side.histogram_runs[name];
  }
}

std::vector<DistributionComparison> compare_distributions(const Side& sa, const Side& sb) {
  std::vector<DistributionComparison> out;
  for (const auto& [name, ha] : sa.histograms) {
    const auto hb = sb.histograms.find(name);
    if (hb == sb.histograms.end()) continue;
    DistributionComparison d;
    d.name = name;
    d.unit = ha.unit;
    d.divisor = ha.divisor;
    d.runs_a = sa.histogram_runs.at(name);
    d.runs_b = sb.histogram_runs.at(name);
    d.a = ha.histogram;
    d.b = hb->second.histogram;
    out.push_back(std::move(d));
  }
  return out;
}

// The expectation both sides share, or kNone when they differ or a side mixes several.
Expect shared_expect(const Side& a, const Side& b) {
  if (a.expects.size() != 1 || b.expects.size() != 1 || a.expects[0] != b.expects[0]) {
    return Expect::kNone;
  }
  return a.expects[0];
}

RateComparison compare_rates(const Side& a, const Side& b, double alpha) {
  RateComparison rc;
  rc.failed_a = a.hits;
  rc.decided_a = a.hits + a.misses;
  rc.unknown_a = a.unknown;
  rc.failed_b = b.hits;
  rc.decided_b = b.hits + b.misses;
  rc.unknown_b = b.unknown;
  rc.interval_a = wilson_interval(rc.failed_a, rc.decided_a);
  rc.interval_b = wilson_interval(rc.failed_b, rc.decided_b);
  rc.p_value = fisher_exact_two_sided(a.hits, a.misses, b.hits, b.misses);
  rc.significant = rc.p_value < alpha;
  rc.expect = shared_expect(a, b);
  switch (rc.expect) {
    case Expect::kClean:  // a fix that stopped holding
      rc.regression = rc.significant && rc.rate_b() > rc.rate_a();
      break;
    case Expect::kIncident:  // the harness lost its power to show the incident
      rc.regression = rc.significant && rc.rate_b() < rc.rate_a();
      break;
    case Expect::kNone:
      rc.regression = false;
      break;
  }
  return rc;
}

std::vector<MetricComparison> compare_metrics(const Side& sa, const Side& sb,
                                              const CompareOptions& options) {
  std::vector<MetricComparison> out;
  std::set<std::string> names;
  for (const auto& [m, values] : sa.metrics) names.insert(m);
  for (const auto& [m, values] : sb.metrics) names.insert(m);
  for (const auto& name : names) {
    if (!options.metrics.empty() &&
        std::find(options.metrics.begin(), options.metrics.end(), name) == options.metrics.end()) {
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
    out.push_back(std::move(mc));
  }
  return out;
}

// Groups keyed by the experiment (without the axis), each with its axis values in order of
// first appearance.
struct Grouped {
  std::map<ExperimentKey, std::vector<std::pair<std::string, Side>>> groups;
};

void add_side(Grouped& g, const ExperimentKey& key, const std::string& value, const Record& r) {
  auto& values = g.groups[key];
  auto it =
      std::find_if(values.begin(), values.end(), [&](const auto& v) { return v.first == value; });
  if (it == values.end()) {
    values.emplace_back(value, Side{});
    it = values.end() - 1;
  }
  add_run(it->second, r);
}

}  // namespace

ComparisonReport compare_records(const std::vector<Record>& a, const std::vector<Record>& b,
                                 const CompareOptions& options, const std::string& name_a,
                                 const std::string& name_b) {
  ComparisonReport report;
  report.name_a = name_a;
  report.name_b = name_b;
  report.by = options.by;
  report.runs_a = a.size();
  report.runs_b = b.size();
  report.alpha = options.alpha;
  Grouped grouped;
  const bool by_file = options.by.axis == Axis::kFile;
  // By position, not address: a file compared with itself is passed as the same vector twice.
  for (int which = 0; which < 2; ++which) {
    const auto& side = which == 0 ? a : b;
    const std::string& name = which == 0 ? name_a : name_b;
    for (const auto& r : side) {
      add_side(grouped, key_without(options.by, r), by_file ? name : axis_value(options.by, r), r);
    }
  }
  for (const auto& [key, values] : grouped.groups) {
    if (values.size() == 1) {
      auto& lone = by_file && values[0].first == name_b && name_a != name_b ? report.only_in_b
                                                                            : report.only_in_a;
      lone.push_back({key, values[0].first, values[0].second.runs});
      continue;
    }
    const auto& [value_a, sa] = values.front();
    for (std::size_t i = 1; i < values.size(); ++i) {
      const auto& [value_b, sb] = values[i];
      GroupComparison gc;
      gc.key = key;
      gc.value_a = value_a;
      gc.value_b = value_b;
      gc.runs_a = sa.runs;
      gc.runs_b = sb.runs;
      gc.rate = compare_rates(sa, sb, options.alpha);
      gc.metrics = compare_metrics(sa, sb, options);
      gc.distributions = compare_distributions(sa, sb);
      report.groups.push_back(std::move(gc));
    }
  }
  return report;
}

namespace {

// The fields of the experiment key in which x and y differ, each as a --by axis names it.
std::vector<std::string> differing_fields(const ExperimentKey& x, const ExperimentKey& y) {
  std::vector<std::string> f;
  if (x.scenario != y.scenario) f.push_back("scenario");
  if (x.variant != y.variant) f.push_back("variant");
  if (x.sanitizer != y.sanitizer) f.push_back("sanitizer");
  std::set<std::string> names;
  for (const auto& [k, v] : x.params) names.insert(k);
  for (const auto& [k, v] : y.params) names.insert(k);
  for (const auto& n : names) {
    auto ix = x.params.find(n);
    auto iy = y.params.find(n);
    if (ix == x.params.end() || iy == y.params.end() || ix->second != iy->second) {
      f.push_back("param=" + n);
    }
  }
  if (x.faults != y.faults) f.push_back("fault");
  if (x.perturb != y.perturb) f.push_back("perturb");
  if (x.nemesis != y.nemesis) f.push_back("nemesis");
  if (x.limits != y.limits) f.push_back("limits");
  return f;
}

// Up to three keys, for a message.
std::string some_keys(const std::vector<LoneGroup>& v) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.size() && i < 3; ++i) out.push_back(v[i].key.label());
  if (v.size() > 3) out.push_back(fmt::format("{} more", v.size() - 3));
  return fmt::format("{}", fmt::join(out, "; "));
}

// Two files with no experiment in common: name the nearest pair (the fewest fields that
// differ), and the --by axis that would compare them when one field does.
std::string nearest_pair_reason(const ComparisonReport& r) {
  std::vector<std::string> fields;
  const LoneGroup* a = nullptr;
  const LoneGroup* b = nullptr;
  for (const auto& ga : r.only_in_a) {
    for (const auto& gb : r.only_in_b) {
      auto f = differing_fields(ga.key, gb.key);
      if (!a || f.size() < fields.size()) std::tie(fields, a, b) = std::tuple(f, &ga, &gb);
    }
  }
  std::string hint;
  if (fields.size() == 1 && fields[0] != "scenario") {
    hint = fmt::format(": compare them with --by {} (both files)", fields[0]);
  }
  return fmt::format(
      "no experiment is in both files. {} has {}; {} has {}. Nearest: '{}' and '{}' differ in "
      "{}{}",
      r.name_a, some_keys(r.only_in_a), r.name_b, some_keys(r.only_in_b), a->key.label(),
      b->key.label(), fmt::join(fields, ", "), hint);
}

}  // namespace

std::string vacuous_reason(const ComparisonReport& r) {
  if (!r.groups.empty()) return "";
  if (r.by.axis != Axis::kFile) {
    std::set<std::string> values;
    for (const auto& g : r.only_in_a) values.insert(g.value.empty() ? "(off)" : g.value);
    return fmt::format(
        "nothing to compare along {}: no experiment has runs with two different values of it "
        "(values seen: {}); choose another --by, or add runs",
        r.by.text(), values.empty() ? "none" : fmt::format("{}", fmt::join(values, ", ")));
  }
  if (r.only_in_b.empty() || r.only_in_a.empty()) {
    return fmt::format("{} and {} hold the same records' keys on one side only: nothing to compare",
                       r.name_a, r.name_b);
  }
  return nearest_pair_reason(r);
}

std::vector<std::string> power_warnings(const ComparisonReport& r) {
  std::vector<std::string> out;
  for (const auto& g : r.groups) {
    const auto& rc = g.rate;
    if (rc.decided_a == 0 || rc.decided_b == 0) continue;
    // The smallest p Fisher's test can give at these sizes: every run of one side a hit, none
    // of the other.
    const double best = fisher_exact_two_sided(rc.decided_a, 0, 0, rc.decided_b);
    if (best >= r.alpha) {
      out.push_back(fmt::format(
          "{}: with {} and {} decided runs no incident rate can differ at alpha {} (the smallest "
          "p possible is {:.3g}): run more repeats",
          g.key.label(), rc.decided_a, rc.decided_b, r.alpha, best));
    }
    for (const auto& m : g.metrics) {
      if (m.n_a == 0 || m.n_b == 0) continue;
      // Two-sided exact Mann-Whitney: 2 / C(n_a + n_b, n_a) at best.
      double combos = 1;
      for (std::size_t i = 1; i <= m.n_a; ++i) {
        combos = combos * static_cast<double>(m.n_b + i) / static_cast<double>(i);
      }
      if (2.0 / combos >= r.alpha) {
        out.push_back(fmt::format(
            "{}: metric {} has {} and {} values; no difference can reach alpha {}: run more "
            "repeats",
            g.key.label(), m.name, m.n_a, m.n_b, r.alpha));
        break;
      }
    }
  }
  return out;
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

std::string rate_flag(const RateComparison& r) {
  if (r.regression) {
    return r.expect == Expect::kClean
               ? "REGRESSION: the fix shows the incident more often"
               : "REGRESSION: reproduces less often (the harness lost power)";
  }
  if (r.significant) return "changed";
  return "~";
}

std::string metric_flag(const MetricComparison& m) {
  if (m.test.method == UTestMethod::kNone) return m.n_a ? "only in A" : "only in B";
  if (m.regression) {
    return m.better == Better::kLower ? "REGRESSION: higher (lower is better)"
                                      : "REGRESSION: lower (higher is better)";
  }
  if (m.significant) return m.b_higher ? "better: higher" : "better: lower";
  return "~";
}

std::string test_name(const MetricComparison& m) {
  if (m.test.method == UTestMethod::kNone) return "-";
  return fmt::format("MWU U={} {}", number(m.test.u), utest_method_name(m.test.method));
}

std::string p_text(double p) {
  return p < 0.0001 ? "<0.0001" : fmt::format("{:.4f}", p);
}

// benchstat's manner: large values with an SI prefix (29.3k, not 29300).
std::string si_number(double v) {
  const double a = std::abs(v);
  if (a >= 1e9) return fmt::format("{:.4g}G", v / 1e9);
  if (a >= 1e6) return fmt::format("{:.4g}M", v / 1e6);
  if (a >= 1e4) return fmt::format("{:.4g}k", v / 1e3);
  return number(v);
}

std::string metric_cell(double median, std::size_t n) {
  return n ? fmt::format("{} (n={})", si_number(median), n) : "-";
}

std::string metric_label(const MetricComparison& m) {
  return m.unit.empty() ? m.name : fmt::format("{} ({})", m.name, m.unit);
}

// One row of a merged distribution: its label and both cells.
struct DistributionRow {
  std::string label, a, b, change;
};
std::vector<DistributionRow> distribution_rows(const DistributionComparison& d) {
  std::vector<DistributionRow> rows;
  for (double p : kShownPercentiles) {
    const double a = d.at_a(p), b = d.at_b(p);
    DistributionRow row;
    row.label =
        fmt::format("{} p{}{}", d.name, number(p), d.unit.empty() ? "" : " (" + d.unit + ")");
    row.a = d.a.count() ? fmt::format("{} (N={})", si_number(a),
                                      si_number(static_cast<double>(d.a.count())))
                        : "-";
    row.b = d.b.count() ? fmt::format("{} (N={})", si_number(b),
                                      si_number(static_cast<double>(d.b.count())))
                        : "-";
    row.change =
        a != 0 && d.a.count() && d.b.count() ? fmt::format("{:+.1f}%", 100 * (b - a) / a) : "n/a";
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string lone_line(const LoneGroup& g) {
  return fmt::format("{} ({} run{})", g.key.label(), g.runs, g.runs == 1 ? "" : "s");
}

// The two sides of a group, as a heading says them.
std::string sides_line(const ComparisonReport& r, const GroupComparison& g) {
  if (r.by.axis == Axis::kFile) return "";
  auto v = [](const std::string& s) { return s.empty() ? std::string("(off)") : s; };
  return fmt::format("  {}: A = {}, B = {}", r.by.text(), v(g.value_a), v(g.value_b));
}

std::string closing_line(const ComparisonReport& r) {
  const std::string lone =
      r.by.axis == Axis::kFile
          ? fmt::format("{} only in A, {} only in B", r.only_in_a.size(), r.only_in_b.size())
          : fmt::format("{} with one value of {} only", r.only_in_a.size(), r.by.text());
  return fmt::format(
      "{} group{} compared at alpha {}: {} significant change{}, {} regression{}; {}",
      r.groups.size(), r.groups.size() == 1 ? "" : "s", r.alpha, r.significant_changes(),
      r.significant_changes() == 1 ? "" : "s", r.regressions(), r.regressions() == 1 ? "" : "s",
      lone);
}

// What A and B are: two files, or the values of an axis inside the files given.
std::string sides_header(const ComparisonReport& r) {
  if (r.by.axis == Axis::kFile) {
    return fmt::format("A: {} ({} runs)\nB: {} ({} runs)\n", r.name_a, r.runs_a, r.name_b,
                       r.runs_b);
  }
  return fmt::format("{}{} ({} runs), compared along {}: A is the first value seen, B each other\n",
                     r.name_a, r.name_b.empty() ? "" : " + " + r.name_b, r.runs_a + r.runs_b,
                     r.by.text());
}

}  // namespace

std::string render_compare_table(const ComparisonReport& r) {
  std::string out = sides_header(r);
  out +=
      "incident: runs that showed it/decided runs (by the judge), 95% Wilson interval, +N? "
      "unknown runs (not counted); Fisher's exact test.\nmetrics: median (n) over decided runs, "
      "k/M/G = 10^3/10^6/10^9; Mann-Whitney U, exact or normal approximation. ~: not "
      "significant.\nlatency pN: the percentile of every run's distribution merged into one (N "
      "values); no test.\n";
  const std::string row = "  {:<26} {:<24} {:<24} {:>10}  {:<22} {:>8}  {}\n";
  for (const auto& g : r.groups) {
    out += fmt::format("\n{}{}\n", g.key.label(), sides_line(r, g));
    out += fmt::format(fmt::runtime(row), "measure", "A", "B", "change", "test", "p", "");
    out += fmt::format(
        fmt::runtime(row), "incident",
        rate_cell(g.rate.failed_a, g.rate.decided_a, g.rate.interval_a, g.rate.unknown_a),
        rate_cell(g.rate.failed_b, g.rate.decided_b, g.rate.interval_b, g.rate.unknown_b),
        rate_change(g.rate), "Fisher exact", p_text(g.rate.p_value), rate_flag(g.rate));
    for (const auto& m : g.metrics) {
      out += fmt::format(fmt::runtime(row), metric_label(m), metric_cell(m.median_a, m.n_a),
                         metric_cell(m.median_b, m.n_b), metric_change(m), test_name(m),
                         m.test.method == UTestMethod::kNone ? "-" : p_text(m.test.p_value),
                         metric_flag(m));
    }
    for (const auto& d : g.distributions) {
      for (const auto& dr : distribution_rows(d)) {
        out += fmt::format(fmt::runtime(row), dr.label, dr.a, dr.b, dr.change, "merged", "-", "");
      }
    }
  }
  if (!r.only_in_a.empty()) {
    out += r.by.axis == Axis::kFile
               ? "\nonly in A (not compared):\n"
               : fmt::format("\nwith one value of {} only (not compared):\n", r.by.text());
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
  std::string out = sides_header(r) + fmt::format("alpha {}\n\n", r.alpha);
  out += "| group | measure | A | B | change | test | p | flag |\n";
  out += "|---|---|---|---|---|---|---|---|\n";
  for (const auto& g : r.groups) {
    const std::string label = cell(g.key.label());
    out += fmt::format(
        "| {} | incident | {} | {} | {} | Fisher exact | {} | {} |\n",
        label + cell(sides_line(r, g)),
        cell(rate_cell(g.rate.failed_a, g.rate.decided_a, g.rate.interval_a, g.rate.unknown_a)),
        cell(rate_cell(g.rate.failed_b, g.rate.decided_b, g.rate.interval_b, g.rate.unknown_b)),
        rate_change(g.rate), p_text(g.rate.p_value),
        g.rate.regression ? "**" + rate_flag(g.rate) + "**" : rate_flag(g.rate));
    for (const auto& m : g.metrics) {
      out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} |\n", label,
                         cell(metric_label(m)), metric_cell(m.median_a, m.n_a),
                         metric_cell(m.median_b, m.n_b), metric_change(m), test_name(m),
                         m.test.method == UTestMethod::kNone ? "-" : p_text(m.test.p_value),
                         m.regression ? "**" + metric_flag(m) + "**" : metric_flag(m));
    }
    for (const auto& d : g.distributions) {
      for (const auto& dr : distribution_rows(d)) {
        out += fmt::format("| {} | {} | {} | {} | {} | merged | - | |\n", label, cell(dr.label),
                           dr.a, dr.b, dr.change);
      }
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
      "scenario,variant,sanitizer,params,injection,by,value_a,value_b,measure,unit,n_a,n_b,a,b,a_"
      "low,a_high,b_low,b_high,"
      "change,change_kind,test,statistic,p_value,significant,regression\n";
  auto row = [&](const GroupComparison& g, std::vector<std::string> cells) {
    const ExperimentKey& k = g.key;
    std::vector<std::string> all = {k.scenario,         k.variant,   k.sanitizer, k.params_text(),
                                    k.injection_text(), r.by.text(), g.value_a,   g.value_b};
    all.insert(all.end(), cells.begin(), cells.end());
    std::string line;
    for (const auto& c : all) line += (line.empty() ? "" : ",") + csv_field(c);
    out += line + "\n";
  };
  auto num = [](double v) { return fmt::format("{}", v); };
  for (const auto& g : r.groups) {
    const auto& rc = g.rate;
    row(g, {"incident", "", std::to_string(rc.decided_a), std::to_string(rc.decided_b),
            num(rc.rate_a()), num(rc.rate_b()), num(rc.interval_a.low), num(rc.interval_a.high),
            num(rc.interval_b.low), num(rc.interval_b.high),
            rc.decided_a && rc.decided_b ? num(rc.rate_b() - rc.rate_a()) : "", "difference",
            "fisher_exact", "", num(rc.p_value), rc.significant ? "true" : "false",
            rc.regression ? "true" : "false"});
    for (const auto& m : g.metrics) {
      const bool tested = m.test.method != UTestMethod::kNone;
      row(g, {m.name, m.unit, std::to_string(m.n_a), std::to_string(m.n_b),
              m.n_a ? num(m.median_a) : "", m.n_b ? num(m.median_b) : "", "", "", "", "",
              m.relative_change ? num(*m.relative_change) : "", "relative",
              tested ? "mann_whitney_" + utest_method_name(m.test.method) : "",
              tested ? num(m.test.u) : "", tested ? num(m.test.p_value) : "",
              m.significant ? "true" : "false", m.regression ? "true" : "false"});
    }
    for (const auto& d : g.distributions) {
      for (double p : kShownPercentiles) {
        const double a = d.at_a(p), b = d.at_b(p);
        row(g, {fmt::format("{}_p{}", d.name, number(p)), d.unit, std::to_string(d.a.count()),
                std::to_string(d.b.count()), num(a), num(b), "", "", "", "",
                a != 0 ? num((b - a) / a) : "", "relative", "merged", "", "", "false", "false"});
      }
    }
  }
  return out;
}

namespace {

using nlohmann::json;

json key_json(const ExperimentKey& k) {
  return json{{"scenario", k.scenario}, {"variant", k.variant}, {"sanitizer", k.sanitizer},
              {"params", k.params},     {"faults", k.faults},   {"perturb", k.perturb},
              {"nemesis", k.nemesis},   {"limits", k.limits},   {"key", k.label()}};
}

json side_json(std::uint64_t failed, std::uint64_t decided, std::uint64_t unknown, double rate,
               const Interval& interval) {
  return {{"failed", failed},
          {"decided", decided},
          {"unknown", unknown},
          {"rate", rate},
          {"interval", {interval.low, interval.high}}};
}

json rate_json(const RateComparison& rc) {
  return {{"a", side_json(rc.failed_a, rc.decided_a, rc.unknown_a, rc.rate_a(), rc.interval_a)},
          {"b", side_json(rc.failed_b, rc.decided_b, rc.unknown_b, rc.rate_b(), rc.interval_b)},
          {"test", "fisher_exact_two_sided"},
          {"p_value", rc.p_value},
          {"significant", rc.significant},
          {"regression", rc.regression}};
}

json metric_json(const MetricComparison& m) {
  return {{"name", m.name},
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
}

json group_json(const GroupComparison& g) {
  json j = key_json(g.key);
  j["value_a"] = g.value_a;
  j["value_b"] = g.value_b;
  j["runs_a"] = g.runs_a;
  j["runs_b"] = g.runs_b;
  j["reproduction"] = rate_json(g.rate);
  json metrics = json::array();
  for (const auto& m : g.metrics) metrics.push_back(metric_json(m));
  j["metrics"] = std::move(metrics);
  json distributions = json::array();
  for (const auto& d : g.distributions) {
    json a = json::object(), b = json::object();
    for (double p : kShownPercentiles) {
      const std::string key = fmt::format("p{}", number(p));
      a[key] = d.at_a(p);
      b[key] = d.at_b(p);
    }
    distributions.push_back({{"name", d.name},
                             {"unit", d.unit},
                             {"runs_a", d.runs_a},
                             {"runs_b", d.runs_b},
                             {"count_a", d.a.count()},
                             {"count_b", d.b.count()},
                             {"a", a},
                             {"b", b}});
  }
  j["distributions"] = std::move(distributions);
  return j;
}

json lone_json(const std::vector<LoneGroup>& v) {
  json out = json::array();
  for (const auto& g : v) {
    json j = key_json(g.key);
    j["value"] = g.value;
    j["runs"] = g.runs;
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace

nlohmann::json compare_to_json(const ComparisonReport& r) {
  json groups = json::array();
  for (const auto& g : r.groups) groups.push_back(group_json(g));
  return json{{"a", {{"file", r.name_a}, {"runs", r.runs_a}}},
              {"b", {{"file", r.name_b}, {"runs", r.runs_b}}},
              {"alpha", r.alpha},
              {"by", r.by.text()},
              {"groups", std::move(groups)},
              {"only_in_a", lone_json(r.only_in_a)},
              {"only_in_b", lone_json(r.only_in_b)},
              {"significant_changes", r.significant_changes()},
              {"regressions", r.regressions()},
              {"warnings", r.warnings}};
}

}  // namespace faultline
