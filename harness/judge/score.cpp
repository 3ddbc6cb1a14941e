#include "harness/judge/score.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "harness/judge/judge.h"
#include "harness/judge/stats.h"
#include "harness/render/export.h"

namespace faultline {

namespace {

enum class Truth { kPositive, kNegative, kNone };

Truth truth_of(const Expectation& e) {
  switch (e.expect) {
    case Expect::kIncident:
      return Truth::kPositive;
    case Expect::kClean:
      return Truth::kNegative;
    case Expect::kNone:
      return e.incident.empty() ? Truth::kNone : Truth::kPositive;
  }
  return Truth::kNone;
}

int detector_rank(const std::string& d) {
  if (d == "none") return 0;
  if (d == "tsan") return 1;
  if (d == "asan") return 2;
  return 3;
}

std::string opt(const std::optional<double>& v, const char* format) {
  return v ? fmt::format(fmt::runtime(format), *v) : "-";
}

struct Row {
  std::string incident, detector, tp, fn, fp, tn, unknown, recall, precision, runs, seconds;
};

std::vector<Row> rows_of(const std::vector<ScoreCell>& cells) {
  std::vector<Row> rows;
  for (const auto& c : cells) {
    rows.push_back({c.scenario, c.detector, std::to_string(c.tp), std::to_string(c.fn),
                    std::to_string(c.fp), std::to_string(c.tn), std::to_string(c.unknown),
                    opt(c.recall(), "{:.2f}"), opt(c.precision(), "{:.2f}"),
                    opt(c.median_runs_to_first, "{:g}"),
                    opt(c.median_seconds_to_first, "{:.2f}s")});
  }
  return rows;
}

}  // namespace

std::optional<double> ScoreCell::recall() const {
  if (tp + fn == 0) return std::nullopt;
  return static_cast<double>(tp) / static_cast<double>(tp + fn);
}

std::optional<double> ScoreCell::precision() const {
  if (tp + fp == 0) return std::nullopt;
  return static_cast<double>(tp) / static_cast<double>(tp + fp);
}

namespace {

// Per cell and positive variant: the runs in repeat order, as (repeat, hit, seconds).
using FirstHitSeries = std::map<std::pair<std::size_t, std::string>,
                                std::vector<std::tuple<std::uint64_t, bool, double>>>;

ScoreCell& cell_of(std::vector<ScoreCell>& cells, const Record& r) {
  auto it = std::find_if(cells.begin(), cells.end(), [&](const ScoreCell& c) {
    return c.scenario == r.scenario && c.detector == r.sanitizer;
  });
  if (it != cells.end()) return *it;
  cells.push_back({r.scenario, r.sanitizer});
  return cells.back();
}

// One run into its cell: unknown, or a true/false positive/negative by its expectation.
void count_run(std::vector<ScoreCell>& cells, FirstHitSeries& series, const Record& r,
               Truth truth) {
  ScoreCell& cell = cell_of(cells, r);
  const Outcome o = judge(facts_of(r), r.expectation).outcome;
  if (!is_decided(o)) {
    ++cell.unknown;
    return;
  }
  if (truth == Truth::kNegative) {
    // On a fixed variant any symptom is the detector's alarm, the incident's or another.
    ++(o == Outcome::kClean ? cell.tn : cell.fp);
    return;
  }
  const bool hit = is_hit(o);
  ++(hit ? cell.tp : cell.fn);
  auto& variants = cell.positive_variants;
  if (std::find(variants.begin(), variants.end(), r.variant) == variants.end()) {
    variants.push_back(r.variant);
  }
  const auto index = static_cast<std::size_t>(&cell - cells.data());
  series[{index, r.variant}].emplace_back(r.repeat_index, hit, r.duration_s);
}

// The median, over a cell's positive variants, of the runs and seconds to the first hit.
void first_hits(ScoreCell& cell, std::size_t index, FirstHitSeries& series) {
  std::vector<double> runs, seconds;
  for (const auto& variant : cell.positive_variants) {
    auto s = series[{index, variant}];
    std::sort(s.begin(), s.end());
    double elapsed = 0;
    for (std::size_t n = 0; n < s.size(); ++n) {
      elapsed += std::get<2>(s[n]);
      if (std::get<1>(s[n])) {
        runs.push_back(static_cast<double>(n + 1));
        seconds.push_back(elapsed);
        break;
      }
    }
  }
  if (!runs.empty()) {
    cell.median_runs_to_first = median(runs);
    cell.median_seconds_to_first = median(seconds);
  }
}

}  // namespace

std::vector<ScoreCell> score_records(const std::vector<Record>& records) {
  std::vector<ScoreCell> cells;
  FirstHitSeries series;
  for (const auto& r : records) {
    const Truth truth = truth_of(r.expectation);
    if (truth != Truth::kNone) count_run(cells, series, r, truth);
  }
  for (std::size_t i = 0; i < cells.size(); ++i) first_hits(cells[i], i, series);
  // Each scenario's cells together, in order of first appearance, detectors none, tsan, asan.
  std::vector<std::string> order;
  for (const auto& c : cells) {
    if (std::find(order.begin(), order.end(), c.scenario) == order.end())
      order.push_back(c.scenario);
  }
  std::stable_sort(cells.begin(), cells.end(), [&](const ScoreCell& a, const ScoreCell& b) {
    auto pa = std::find(order.begin(), order.end(), a.scenario) - order.begin();
    auto pb = std::find(order.begin(), order.end(), b.scenario) - order.begin();
    if (pa != pb) return pa < pb;
    return detector_rank(a.detector) < detector_rank(b.detector);
  });
  return cells;
}

std::string render_score_table(const std::vector<ScoreCell>& cells) {
  const std::string row = "{:<22} {:<8} {:>4} {:>4} {:>4} {:>4} {:>7} {:>6} {:>9} {:>11} {:>11}\n";
  std::string out = fmt::format(fmt::runtime(row), "incident", "detector", "TP", "FN", "FP", "TN",
                                "unknown", "recall", "precision", "runs to 1st", "time to 1st");
  for (const auto& r : rows_of(cells)) {
    out += fmt::format(fmt::runtime(row), r.incident, r.detector, r.tp, r.fn, r.fp, r.tn, r.unknown,
                       r.recall, r.precision, r.runs, r.seconds);
  }
  out +=
      "\nTP: runs of a variant with the incident in which the detector saw it; FN: such runs it "
      "missed;\nFP: runs of a fixed variant with any symptom; TN: clean ones. Unknown runs (broke, "
      "timed out, ran out\nof a resource, never entered the window) count in none of them. Runs "
      "and time to the first detection:\nmedians over the variants with the incident (repeat "
      "order).\n";
  return out;
}

std::string render_score_markdown(const std::vector<ScoreCell>& cells) {
  std::string out =
      "| incident | detector | TP | FN | FP | TN | unknown | recall | precision | runs to 1st | "
      "time to 1st |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows_of(cells)) {
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", r.incident,
                       r.detector, r.tp, r.fn, r.fp, r.tn, r.unknown, r.recall, r.precision, r.runs,
                       r.seconds);
  }
  return out;
}

std::string render_score_csv(const std::vector<ScoreCell>& cells) {
  std::string out =
      "incident,detector,tp,fn,fp,tn,unknown,recall,precision,median_runs_to_first,"
      "median_seconds_to_first\n";
  auto num = [](const std::optional<double>& v) { return v ? fmt::format("{}", *v) : ""; };
  for (const auto& c : cells) {
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{}\n", csv_field(c.scenario),
                       csv_field(c.detector), c.tp, c.fn, c.fp, c.tn, c.unknown, num(c.recall()),
                       num(c.precision()), num(c.median_runs_to_first),
                       num(c.median_seconds_to_first));
  }
  return out;
}

}  // namespace faultline
