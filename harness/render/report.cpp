#include "harness/render/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "harness/judge/judge.h"
#include "harness/judge/stats.h"
#include "harness/judge/summary.h"
#include "harness/record/experiment_key.h"
#include "harness/render/export.h"
#include "harness/render/svg.h"

namespace faultline {
namespace {

std::string esc(std::string_view s) {
  return xml_escape(s);
}

bool decided(const Record& r) {
  const auto o = parse_outcome(r.verdict);
  return o && is_decided(*o);
}

// One scenario's runs, grouped as the run summary groups them.
struct ScenarioView {
  std::string id;
  std::vector<Record> records;
  std::vector<GroupSummary> groups;                          // points into `records`
  std::map<std::string, std::vector<const Record*>> by_key;  // ExperimentKey id -> its runs
  std::vector<std::string> axes;                             // parameters that take > 1 value
};

// "k=v,k=v" as pairs, in order.
std::vector<std::pair<std::string, std::string>> pairs_of(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto comma = std::min(text.find(',', at), text.size());
    const std::string_view kv = text.substr(at, comma - at);
    const auto eq = kv.find('=');
    if (eq != std::string_view::npos) out.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    at = comma + 1;
  }
  return out;
}

// A fault's and the perturbation's parameters as axes: "latency:ms=5,jitter-ms=1" gives
// fault.latency.ms=5 and fault.latency.jitter-ms=1, "probability=0.1" perturb.probability=0.1,
// the names `sweep --grid` gives them, so that a sweep over a fault's strength draws like one
// over a parameter.
std::map<std::string, std::string> fault_params(const ExperimentKey& key) {
  std::map<std::string, std::string> out;
  for (const auto& spec : key.faults) {
    const auto colon = spec.find(':');
    const std::string kind = spec.substr(0, colon);
    if (colon == std::string::npos) continue;
    for (const auto& [k, v] : pairs_of(std::string_view(spec).substr(colon + 1))) {
      out["fault." + kind + "." + k] = v;
    }
  }
  for (const auto& [k, v] : pairs_of(key.perturb)) out["perturb." + k] = v;
  return out;
}

// The value of an axis (a parameter, or a fault's parameter) in a key.
std::optional<std::string> axis_value(const ExperimentKey& key, const std::string& axis) {
  if (auto it = key.params.find(axis); it != key.params.end()) return it->second;
  const auto f = fault_params(key);
  if (auto it = f.find(axis); it != f.end()) return it->second;
  return std::nullopt;
}

std::vector<std::string> varying_params(const std::vector<GroupSummary>& groups) {
  std::map<std::string, std::set<std::string>> values;
  std::map<std::string, std::size_t> with;
  for (const auto& g : groups) {
    for (const auto& [k, v] : g.key.params) values[k].insert(v), ++with[k];
    for (const auto& [k, v] : fault_params(g.key)) values[k].insert(v), ++with[k];
  }
  std::vector<std::string> out;
  for (const auto& [k, vs] : values) {
    // A parameter some groups lack (an optional one, unset) varies too.
    if (vs.size() > 1 || with[k] < groups.size()) out.push_back(k);
  }
  return out;
}

std::vector<ScenarioView> views_of(const std::vector<Record>& records) {
  std::vector<ScenarioView> views;
  std::map<std::string, std::size_t> index;
  for (const auto& r : records) {
    auto [it, fresh] = index.emplace(r.scenario, views.size());
    if (fresh) views.push_back({r.scenario, {}, {}, {}, {}});
    views[it->second].records.push_back(r);
  }
  for (auto& v : views) {
    v.groups = summarise(v.records);
    for (const auto& r : v.records) v.by_key[experiment_key_of(r).id()].push_back(&r);
    v.axes = varying_params(v.groups);
  }
  return views;
}

std::string point_text(const ExperimentKey& key, const std::vector<std::string>& axes) {
  std::string out;
  for (const auto& a : axes) {
    if (a.starts_with("fault.") || a.starts_with("perturb.")) continue;  // in the injection text
    auto it = key.params.find(a);
    out += fmt::format("{}{}={}", out.empty() ? "" : " ", a,
                       it == key.params.end() ? "(unset)" : it->second);
  }
  out += key.injection_text();
  return out.empty() ? "-" : out;
}

std::string status_cell(const GroupSummary& g) {
  switch (g.status) {
    case GroupStatus::kMet:
      return R"(<td class="met">ok</td>)";
    case GroupStatus::kMissed:
      return R"(<td class="missed">MISS</td>)";
    case GroupStatus::kUnknown:
      return R"(<td class="unknown">unknown</td>)";
    case GroupStatus::kNotJudged:
      break;
  }
  return R"(<td class="notjudged">not judged</td>)";
}

std::string verdict_row(const GroupSummary& g, const std::vector<std::string>& axes) {
  const double rate = g.decided ? double(g.hits) / double(g.decided) : 0;
  std::string first_hit = g.first_hit ? fmt::format("run {}", *g.first_hit) : "-";
  std::string first_symptom =
      g.median_first_symptom_s ? fmt::format("{:.1f} ms", 1000 * *g.median_first_symptom_s) : "-";
  return fmt::format(
      R"(<tr class="group" data-key="{}" data-hits="{}" data-decided="{}" data-unknown="{}" data-lo="{:.6f}" data-hi="{:.6f}">)"
      R"(<td>{}</td><td>{}</td><td>{}</td>{}<td class="num rate">{}/{}</td><td>{}</td>)"
      R"(<td class="num">{:.0f}% [{:.0f}%, {:.0f}%]</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{:.2f} s</td><td class="expect">{}</td></tr>)",
      esc(g.key.id()), g.hits, g.decided, g.unknown, g.rate.low, g.rate.high, esc(g.key.variant),
      esc(g.key.sanitizer), esc(point_text(g.key, axes)), status_cell(g), g.hits, g.decided,
      svg::interval_bar(rate, g.rate.low, g.rate.high), 100 * rate, 100 * g.rate.low,
      100 * g.rate.high, g.unknown, first_hit, first_symptom, g.median_duration_s,
      esc(g.expectation.text()));
}

std::string verdict_table(const ScenarioView& v) {
  std::string out =
      "<h3>Verdicts</h3><table class=\"verdicts\"><thead><tr><th>variant</th><th>build</th>"
      "<th>point</th><th>verdict</th><th>incident</th><th>95% Wilson interval</th><th>rate</th>"
      "<th>unknown</th><th>first hit</th><th>time to first symptom (median)</th>"
      "<th>run time (median)</th><th>expectation</th></tr></thead><tbody>";
  for (const auto& g : v.groups) out += verdict_row(g, v.axes);
  return out + "</tbody></table>";
}

// Variant x sanitizer: hits over decided runs, pooled over every point of the grid.
std::string detector_matrix(const ScenarioView& v) {
  std::set<std::string> sanitizers;
  std::vector<std::string> variants;
  std::map<std::pair<std::string, std::string>, std::pair<std::uint64_t, std::uint64_t>> cells;
  for (const auto& g : v.groups) {
    sanitizers.insert(g.key.sanitizer);
    if (std::find(variants.begin(), variants.end(), g.key.variant) == variants.end()) {
      variants.push_back(g.key.variant);
    }
    auto& c = cells[{g.key.variant, g.key.sanitizer}];
    c.first += g.hits;
    c.second += g.decided;
  }
  if (sanitizers.size() < 2) return "";
  std::string out =
      "<h3>Detector matrix</h3><p class=\"hint\">Runs that showed the incident over "
      "decided runs, pooled over every point.</p><table class=\"matrix\"><thead>"
      "<tr><th>variant</th>";
  for (const auto& s : sanitizers) out += fmt::format("<th>{}</th>", esc(s));
  out += "</tr></thead><tbody>";
  for (const auto& var : variants) {
    out += fmt::format("<tr><td>{}</td>", esc(var));
    for (const auto& s : sanitizers) {
      auto it = cells.find({var, s});
      out += it == cells.end()
                 ? "<td>-</td>"
                 : fmt::format(R"(<td class="num" data-cell="{}|{}|{}">{}/{}</td>)", esc(v.id),
                               esc(var), esc(s), it->second.first, it->second.second);
    }
    out += "</tr>";
  }
  return out + "</tbody></table>";
}

}  // namespace
}  // namespace faultline

namespace faultline {
namespace {

std::optional<double> as_number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// The x position of each value of an axis: the number itself when every value is one, else
// its place in order of first appearance; ticks only where there are values.
struct XAxis {
  svg::Axis axis;
  std::map<std::string, double> at;
};

XAxis x_axis_of(const std::string& name, const std::vector<std::string>& values) {
  XAxis x;
  x.axis.title = name;
  bool numeric = !values.empty();
  for (const auto& v : values) numeric = numeric && as_number(v).has_value();
  for (std::size_t i = 0; i < values.size(); ++i) {
    x.at[values[i]] = numeric ? *as_number(values[i]) : double(i);
  }
  double lo = 0, hi = 1;
  if (!x.at.empty()) {
    lo = std::min_element(x.at.begin(), x.at.end(), [](auto& a, auto& b) {
           return a.second < b.second;
         })->second;
    hi = std::max_element(x.at.begin(), x.at.end(), [](auto& a, auto& b) {
           return a.second < b.second;
         })->second;
  }
  const double pad = hi > lo ? (hi - lo) * 0.05 : 0.5;
  x.axis.min = lo - pad;
  x.axis.max = hi + pad;
  std::set<double> ticked;
  for (const auto& v : values) {
    if (x.axis.ticks.size() < 12 && ticked.insert(x.at[v]).second) {
      x.axis.ticks.emplace_back(x.at[v], v);
    }
  }
  return x;
}

// "k=v,k=v" less the pair whose key is `key`.
std::string without_pair(std::string_view text, const std::string& key) {
  std::string kept;
  for (const auto& [k, v] : pairs_of(text)) {
    if (k != key) kept += (kept.empty() ? "" : ",") + k + "=" + v;
  }
  return kept;
}

// The key less one axis: the parameter, or that parameter of its fault's or perturbation's spec.
ExperimentKey without(ExperimentKey key, const std::string& axis) {
  key.params.erase(axis);
  if (axis.starts_with("perturb.")) key.perturb = without_pair(key.perturb, axis.substr(8));
  if (!axis.starts_with("fault.")) return key;
  const auto dot = axis.find('.', 6);
  const std::string kind = axis.substr(6, dot - 6), param = axis.substr(dot + 1);
  for (auto& spec : key.faults) {
    if (!spec.starts_with(kind + ":")) continue;
    const std::string kept = without_pair(std::string_view(spec).substr(kind.size() + 1), param);
    spec = kind + (kept.empty() ? "" : ":" + kept);
  }
  return key;
}

// What a chart draws of one group at one value of its axis: a point, or nothing (no run
// decided, no run measured the metric).
using PointOf = std::function<std::optional<svg::Point>(const GroupSummary&, const std::string&)>;

// The incident rate with its Wilson interval as the band.
std::optional<svg::Point> rate_point(const GroupSummary& g, const std::string& label) {
  if (g.decided == 0) return std::nullopt;
  const double rate = double(g.hits) / double(g.decided);
  return svg::Point{0, rate, g.rate.low, g.rate.high,
                    fmt::format("{}: {}/{} ({:.0f}% [{:.0f}%, {:.0f}%])", label, g.hits, g.decided,
                                100 * rate, 100 * g.rate.low, 100 * g.rate.high)};
}

// A metric's median over the group's decided runs, its smallest and largest value as the band.
PointOf metric_point(const ScenarioView& v, const std::string& metric) {
  return
      [&v, metric](const GroupSummary& g, const std::string& label) -> std::optional<svg::Point> {
        std::vector<double> values;
        for (const Record* r : v.by_key.at(g.key.id())) {
          auto it = r->metrics.find(metric);
          if (it != r->metrics.end() && decided(*r)) values.push_back(it->second.value);
        }
        if (values.empty()) return std::nullopt;
        const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
        const double mid = median(values);
        return svg::Point{
            0, mid, *lo, *hi,
            fmt::format("{}: median {} over {} runs (from {} to {})", label, svg::short_number(mid),
                        values.size(), svg::short_number(*lo), svg::short_number(*hi))};
      };
}

// One chart per variant of what `point_of` draws over `axis`, a line for each build and each
// other setting (other axes, faults, perturbation, nemesis) apart; runs under an injection are
// dashed.
std::vector<svg::Series> sweep_series(const ScenarioView& v, const std::string& axis,
                                      const std::string& variant, const XAxis& x,
                                      const PointOf& point_of) {
  std::map<std::string, svg::Series> lines;
  std::vector<std::string> order;
  std::vector<std::string> others = v.axes;
  others.erase(std::remove(others.begin(), others.end(), axis), others.end());
  for (const auto& g : v.groups) {
    const auto value = axis_value(g.key, axis);
    if (g.key.variant != variant || !value) continue;
    auto p = point_of(g, fmt::format("{}={}", axis, *value));
    if (!p) continue;
    const ExperimentKey rest = without(g.key, axis);
    const std::string point = point_text(rest, others);
    const std::string label =
        fmt::format("{} {}", rest.sanitizer, point == "-" ? "baseline" : point);
    if (!lines.count(label)) order.push_back(label);
    svg::Series& s = lines[label];
    s.label = label;
    s.dashed = !rest.injection_text().empty();
    p->x = x.at.at(*value);
    s.points.push_back(std::move(*p));
  }
  std::vector<svg::Series> series;
  for (const auto& label : order) {
    svg::Series s = lines[label];
    std::sort(s.points.begin(), s.points.end(), [](auto& a, auto& b) { return a.x < b.x; });
    series.push_back(std::move(s));
  }
  return series;
}

std::string panel(const std::string& axis, const std::string& variant, const std::string& what,
                  const std::string& chart) {
  return fmt::format(
      R"(<div class="panel" data-axis="{}" data-variant="{}" data-what="{}"><h4>{}</h4>{}</div>)",
      esc(axis), esc(variant), esc(what), esc(variant), chart);
}

std::string rate_panel(const ScenarioView& v, const std::string& axis, const std::string& variant,
                       const XAxis& x) {
  const auto series = sweep_series(v, axis, variant, x, rate_point);
  if (series.empty()) return "";
  const svg::Axis y{"incident rate",
                    0,
                    1,
                    false,
                    {{0, "0%"}, {0.25, "25%"}, {0.5, "50%"}, {0.75, "75%"}, {1, "100%"}}};
  return panel(axis, variant, "rate", svg::chart(x.axis, y, series));
}

std::string metric_panel(const ScenarioView& v, const std::string& axis, const std::string& variant,
                         const XAxis& x, const std::string& metric) {
  const auto series = sweep_series(v, axis, variant, x, metric_point(v, metric));
  if (series.empty()) return "";
  double lo = 0, hi = 0;
  for (const auto& s : series) {
    for (const auto& p : s.points) {
      lo = std::min(lo, p.lo.value_or(p.y));
      hi = std::max(hi, p.hi.value_or(p.y));
    }
  }
  const svg::Axis y{metric, lo, hi > lo ? hi * 1.05 : lo + 1};
  return panel(axis, variant, metric, svg::chart(x.axis, y, series));
}

std::string sweep_section(const ScenarioView& v, const std::vector<std::string>& metrics) {
  std::string out;
  for (const auto& axis : v.axes) {
    std::vector<std::string> values, variants;
    for (const auto& g : v.groups) {
      const auto value = axis_value(g.key, axis);
      if (value && std::find(values.begin(), values.end(), *value) == values.end()) {
        values.push_back(*value);
      }
      if (std::find(variants.begin(), variants.end(), g.key.variant) == variants.end()) {
        variants.push_back(g.key.variant);
      }
    }
    if (values.size() < 2) continue;  // set at one value, unset elsewhere: nothing to draw
    const XAxis x = x_axis_of(axis, values);
    std::string panels;
    for (const auto& var : variants) panels += rate_panel(v, axis, var, x);
    out += fmt::format(R"(<h3>Rate over {}</h3><div class="panels">{}</div>)", esc(axis), panels);
    for (const auto& metric : metrics) {
      std::string mp;
      for (const auto& var : variants) mp += metric_panel(v, axis, var, x, metric);
      if (mp.empty()) continue;
      out += fmt::format(
          R"(<h3>{} over {}</h3><p class="hint">Median over decided runs; the band is the smallest to the largest.</p><div class="panels">{}</div>)",
          esc(metric), esc(axis), mp);
    }
  }
  return out;
}

}  // namespace
}  // namespace faultline

namespace faultline {
namespace {

// A histogram of one group, merged over its decided runs.
struct Merged {
  const GroupSummary* group = nullptr;
  std::string unit;
  double divisor = 1;
  std::size_t runs = 0;
  LatencyHistogram h;
};

std::vector<Merged> merged_histograms(const ScenarioView& v, const std::string& name) {
  std::vector<Merged> out;
  for (const auto& g : v.groups) {
    Merged m{&g, "", 1, 0, {}};
    for (const Record* r : v.by_key.at(g.key.id())) {
      auto it = r->histograms.find(name);
      if (it == r->histograms.end() || !decided(*r)) continue;
      m.unit = it->second.unit;
      m.divisor = it->second.divisor;
      m.h.merge(it->second.histogram);
      ++m.runs;
    }
    if (m.runs > 0 && m.h.count() > 0) out.push_back(std::move(m));
  }
  return out;
}

constexpr double kPlotted[] = {0, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99};

// Latency by percentile, HdrHistogram's way: x is 1 / (1 - p) on a log scale, so the tail
// gets the room.
std::string percentile_plot(const std::vector<Merged>& ms, const ScenarioView& v) {
  std::vector<svg::Series> series;
  double lo = 0, hi = 0;
  for (const auto& m : ms) {
    if (series.size() == 8) break;
    svg::Series s;
    s.label = fmt::format("{} {} {}", m.group->key.variant, m.group->key.sanitizer,
                          point_text(m.group->key, v.axes));
    for (double p : kPlotted) {
      const double value = double(m.h.percentile(std::max(p, 1e-9))) / m.divisor;
      s.points.push_back({1 / (1 - p / 100), value, std::nullopt, std::nullopt,
                          fmt::format("p{}: {} {}", p, svg::short_number(value), m.unit)});
      lo = lo == 0 ? value : std::min(lo, value);
      hi = std::max(hi, value);
    }
    series.push_back(std::move(s));
  }
  if (series.empty() || !(lo > 0)) return "";
  const svg::Axis x{
      "percentile",
      1,
      1e4,
      true,
      {{1, "0%"}, {2, "50%"}, {10, "90%"}, {100, "99%"}, {1000, "99.9%"}, {1e4, "99.99%"}}};
  const svg::Axis y{ms.front().unit, lo / 1.2, hi * 1.2, hi / lo > 20};
  return svg::chart(x, y, series, 620, 280);
}

std::string latency_table(const std::string& name, const std::vector<Merged>& ms,
                          const ScenarioView& v) {
  std::string out = fmt::format(
      R"(<table class="latency" data-histogram="{}"><thead><tr><th>variant</th><th>build</th><th>point</th><th>runs</th><th>values</th>)"
      "<th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr></thead><tbody>",
      esc(name));
  for (const auto& m : ms) {
    auto at = [&](double p) { return svg::short_number(double(m.h.percentile(p)) / m.divisor); };
    out += fmt::format(
        R"(<tr data-key="{}" data-count="{}" data-max="{}"><td>{}</td><td>{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td>)"
        R"(<td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{} {}</td></tr>)",
        esc(m.group->key.id()), m.h.count(), double(m.h.max()) / m.divisor,
        esc(m.group->key.variant), esc(m.group->key.sanitizer),
        esc(point_text(m.group->key, v.axes)), m.runs, m.h.count(), at(50), at(90), at(99),
        at(99.9), svg::short_number(double(m.h.max()) / m.divisor), esc(m.unit));
  }
  return out + "</tbody></table>";
}

std::string latency_section(const ScenarioView& v) {
  std::set<std::string> names;
  for (const auto& r : v.records) {
    for (const auto& [name, h] : r.histograms) names.insert(name);
  }
  std::string out;
  for (const auto& name : names) {
    const auto ms = merged_histograms(v, name);
    if (ms.empty()) continue;
    out += fmt::format(
        "<h3>Distribution: {}</h3><p class=\"hint\">Every decided run's histogram merged into one "
        "per experiment; the percentiles are of the merge.</p>{}{}",
        esc(name), latency_table(name, ms, v), percentile_plot(ms, v));
  }
  return out;
}

}  // namespace
}  // namespace faultline

namespace faultline {
namespace {

// "file.cpp:12" as a link to the file, the line in its text; anything else as text.
std::string location_html(const std::string& location) {
  const auto colon = location.rfind(':');
  const bool has_line = colon != std::string::npos && colon + 1 < location.size() &&
                        std::all_of(location.begin() + colon + 1, location.end(),
                                    [](char c) { return c >= '0' && c <= '9'; });
  if (!has_line || location.starts_with("(")) return esc(location);
  const std::string path = location.substr(0, colon);
  const std::string href = path.starts_with("/") ? "file://" + path : path;
  return fmt::format(R"(<a href="{}" title="line {}">{}</a>)", esc(href),
                     esc(location.substr(colon + 1)), esc(location));
}

std::string symptom_details(const Symptom& s, std::size_t runs) {
  std::string frames;
  for (const auto& f : s.frames) {
    frames += fmt::format("<li><code>{}</code> {}</li>", esc(f.function.empty() ? "?" : f.function),
                          location_html(f.location));
  }
  constexpr std::size_t kShown = 16 * 1024;
  const std::string text = s.report.substr(0, kShown);
  return fmt::format(
      R"(<details class="symptom" data-kind="{}" data-runs="{}"><summary><b>{}</b> ({}) in {} run{}: {}</summary>)"
      R"(<ol class="frames">{}</ol>{}</details>)",
      esc(s.kind), runs, esc(s.kind), esc(s.source), runs, runs == 1 ? "" : "s", esc(s.summary),
      frames,
      text.empty() ? ""
                   : fmt::format("<pre>{}{}</pre>", esc(text),
                                 s.report.size() > kShown ? "\n[... cut]" : ""));
}

// Distinct symptoms (kind and top frame), each with the number of runs that showed it and its
// first report.
std::string symptoms_section(const ScenarioView& v) {
  std::map<std::pair<std::string, std::string>, std::pair<const Symptom*, std::set<std::string>>>
      seen;
  std::vector<std::pair<std::string, std::string>> order;
  for (const auto& r : v.records) {
    for (const auto& s : r.symptoms) {
      const std::pair<std::string, std::string> id{
          s.kind, s.frames.empty() ? "" : s.frames.front().function};
      auto [it, fresh] = seen.try_emplace(id, &s, std::set<std::string>{});
      if (fresh) order.push_back(id);
      it->second.second.insert(r.run_id);
    }
  }
  if (order.empty()) return "<h3>Symptoms</h3><p>No run showed a symptom.</p>";
  std::string out = "<h3>Symptoms</h3>";
  for (const auto& id : order) {
    const auto& [symptom, runs] = seen.at(id);
    out += symptom_details(*symptom, runs.size());
  }
  return out;
}

// The record's timeline as shaded windows (a pause to its resume, a kill to its restart, a
// fault from when it went on to the end) and marks (every event, the first symptom, the exit).
void timeline_of(const Record& r, std::vector<svg::Window>& windows,
                 std::vector<svg::Mark>& marks) {
  constexpr double kNone = -1;  // (std::optional here trips GCC 12's maybe-uninitialized)
  double paused = kNone, killed = kNone;
  for (const auto& e : r.timeline) {
    marks.push_back({e.t, e.what + (e.detail.empty() ? "" : ": " + e.detail), "event"});
    if (e.what == "nemesis.pause") paused = e.t;
    if (e.what == "nemesis.resume" && paused != kNone) {
      windows.push_back({paused, e.t, "paused"});
      paused = kNone;
    }
    if (e.what == "nemesis.kill") killed = e.t;
    if (e.what == "nemesis.restart" && killed != kNone) {
      windows.push_back({killed, e.t, "down"});
      killed = kNone;
    }
    if (e.what == "fault on") windows.push_back({e.t, r.duration_s, "fault: " + e.detail});
  }
  if (paused != kNone) windows.push_back({paused, r.duration_s, "paused"});
  if (killed != kNone) windows.push_back({killed, r.duration_s, "down"});
  if (r.first_symptom_s) marks.push_back({*r.first_symptom_s, "first symptom", "symptom"});
  const std::string exit = r.exit.signal ? *r.exit.signal
                           : r.exit.code ? fmt::format("exit {}", *r.exit.code)
                                         : std::string("did not exit");
  marks.push_back({r.duration_s, exit, "end"});
}

// The series a run's timeline draws: its latency over time where it has one (the corrected
// one first: it counts the waiting a stalled sender would hide), else its first series.
std::map<std::string, std::vector<std::pair<double, double>>>::const_iterator drawn_series(
    const Record& r) {
  auto named = [&](std::string_view pattern) {
    return std::find_if(r.samples.begin(), r.samples.end(), [&](const auto& s) {
      return s.first.starts_with(pattern) && s.first.find("_p99_") != std::string::npos;
    });
  };
  if (auto it = named("latency_corrected_p99_"); it != r.samples.end()) return it;
  if (auto it = named("latency"); it != r.samples.end()) return it;
  return r.samples.begin();
}

std::string timelines_section(const ScenarioView& v, std::size_t cap) {
  std::string out = fmt::format(
      "<h3>Timelines</h3><p class=\"hint\">The first {} runs: faults and nemesis windows shaded, "
      "events as grey marks, the first symptom red, the exit black, the line the latency p99 "
      "over time (or the run's first series); hover for details.</p>",
      std::min(cap, v.records.size()));
  for (std::size_t i = 0; i < v.records.size() && i < cap; ++i) {
    const Record& r = v.records[i];
    std::vector<svg::Window> windows;
    std::vector<svg::Mark> marks;
    timeline_of(r, windows, marks);
    const auto series = drawn_series(r);
    out += fmt::format(
        R"(<div class="run" data-run="{}"><div class="runlabel">{} {} #{} seed {}: <b>{}</b></div>{}</div>)",
        esc(r.run_id), esc(r.variant), esc(r.sanitizer), r.repeat_index + 1, r.seed, esc(r.verdict),
        svg::timeline(
            r.duration_s, windows, marks,
            series == r.samples.end() ? std::vector<std::pair<double, double>>{} : series->second,
            series == r.samples.end() ? "" : series->first));
  }
  if (v.records.size() > cap) {
    out += fmt::format("<p class=\"hint\">{} more runs not drawn.</p>", v.records.size() - cap);
  }
  return out;
}

}  // namespace
}  // namespace faultline

namespace faultline {
namespace {

std::string field(const nlohmann::json& j, const char* name) {
  if (!j.is_object() || !j.contains(name)) return "-";
  const auto& v = j[name];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string provenance_section(const std::vector<Record>& records) {
  std::map<std::string, std::size_t> builds, hosts;
  std::vector<std::pair<const Record*, std::string>> build_order, host_order;
  for (const auto& r : records) {
    const std::string b = r.build.dump(), h = r.host.dump();
    if (builds[b]++ == 0) build_order.emplace_back(&r, b);
    if (hosts[h]++ == 0) host_order.emplace_back(&r, h);
  }
  std::string out =
      "<h2>Provenance</h2><table class=\"provenance\"><thead><tr><th>runs</th><th>preset</th>"
      "<th>git revision</th><th>compiler</th><th>flags</th><th>build type</th></tr></thead><tbody>";
  for (const auto& [r, b] : build_order) {
    const std::string dirty = r->build.value("git_dirty", false) ? " (uncommitted changes)" : "";
    out += fmt::format(
        "<tr><td class=\"num\">{}</td><td>{}</td><td><code>{}</code>{}</td><td>{}</td>"
        "<td><code>{}</code></td><td>{}</td></tr>",
        builds[b], esc(field(r->build, "preset")), esc(field(r->build, "git_revision")), dirty,
        esc(field(r->build, "compiler")), esc(field(r->build, "flags")),
        esc(field(r->build, "build_type")));
  }
  out +=
      "</tbody></table><table class=\"provenance\"><thead><tr><th>runs</th><th>host</th>"
      "<th>cores</th><th>memory</th><th>kernel</th><th>arch</th></tr></thead><tbody>";
  for (const auto& [r, h] : host_order) {
    const double gib = r->host.value("memory_bytes", 0.0) / double(1ull << 30);
    out += fmt::format(
        "<tr><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1f} "
        "GiB</td><td>{}</td><td>{}</td></tr>",
        hosts[h], esc(field(r->host, "hostname")), esc(field(r->host, "cores")), gib,
        esc(field(r->host, "kernel")), esc(field(r->host, "arch")));
  }
  return out + "</tbody></table>";
}

constexpr const char* kStyle = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ccc}
h3{font-size:15px;margin:18px 0 6px}h4{margin:4px 0;font-size:13px}
table{border-collapse:collapse;margin:6px 0}th,td{padding:3px 8px;border-bottom:1px solid #e4e4e4;
text-align:left;vertical-align:middle}th{background:#f4f4f4;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}td.expect{color:#555;font-size:12px}
td.met{color:#1e8449;font-weight:700}td.missed{color:#c0392b;font-weight:700}
td.unknown{color:#b9770e;font-weight:700}td.notjudged{color:#777}
.hint{color:#666;font-size:12px;margin:2px 0}.panels{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:4px 0}.legend span{margin-right:12px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
.plot{fill:#fff;stroke:#bbb}.grid{stroke:#eee}.tick{font-size:10px;fill:#555}
.axis{font-size:11px;fill:#333}.band{opacity:.18}.track{fill:#eee}.interval{fill:#7fb3d5}
.estimate{stroke:#1a5276;stroke-width:2}.window{fill:#f5b7b1;opacity:.5}
.samples{fill:none;stroke:#2471a3;stroke-width:1.5;stroke-linecap:round}.event{fill:#888}.symptom{fill:#c0392b}
.end{fill:#222}.run{margin:4px 0}.runlabel{font-size:12px}
details.symptom{margin:4px 0;padding:4px 8px;background:#fafafa;border:1px solid #eee}
pre{white-space:pre-wrap;font-size:11px;max-height:320px;overflow:auto;background:#f6f6f6;padding:6px}
ol.frames{margin:4px 0;font-size:12px}nav a{margin-right:10px}
)";

std::string scenario_section(const ScenarioView& v, const ReportOptions& o) {
  return fmt::format(
      R"(<section class="scenario" id="s-{0}" data-scenario="{0}"><h2>{0}</h2>)"
      R"(<p class="hint">{1} runs, {2} experiments{3}</p>{4}{5}{6}{7}{8}{9}</section>)",
      esc(v.id), v.records.size(), v.groups.size(),
      v.axes.empty() ? "" : ", swept over " + esc(fmt::format("{}", fmt::join(v.axes, ", "))),
      verdict_table(v), detector_matrix(v), sweep_section(v, o.metrics), latency_section(v),
      symptoms_section(v), timelines_section(v, o.timeline_runs));
}

}  // namespace

std::string render_report(const std::vector<Record>& records, const ReportOptions& options) {
  const auto views = views_of(records);
  std::string nav, body;
  for (const auto& v : views) {
    nav += fmt::format(R"(<a href="#s-{0}">{0}</a>)", esc(v.id));
    body += scenario_section(v, options);
  }
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width\"><title>faultline report: {}</title>"
      "<style>{}</style></head><body><header><h1>faultline report</h1><p class=\"hint\">{} runs "
      "of {} scenario{} from {}; made {}.</p><nav>{}</nav></header>{}{}</body></html>\n",
      esc(fmt::format("{}", fmt::join(options.sources, ", "))), kStyle, records.size(),
      views.size(), views.size() == 1 ? "" : "s",
      esc(fmt::format("{}", fmt::join(options.sources, ", "))), esc(options.generated_at), nav,
      body, provenance_section(records));
}

}  // namespace faultline
