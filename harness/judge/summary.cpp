#include "harness/judge/summary.h"

#include <fmt/format.h>

#include <algorithm>

#include "harness/record/record.h"

namespace faultline {

namespace {

void add_unique(std::vector<std::string>& list, const std::string& item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  std::size_t m = values.size() / 2;
  return values.size() % 2 ? values[m] : (values[m - 1] + values[m]) / 2;
}

void judge_group(GroupSummary& g, std::vector<const Record*>& runs) {
  std::stable_sort(runs.begin(), runs.end(), [](const Record* a, const Record* b) {
    return a->repeat_index < b->repeat_index;
  });
  g.expectation = runs.front()->expectation;
  std::vector<Outcome> outcomes;
  std::vector<double> durations, first_symptoms;
  double elapsed = 0;
  const Record* first_miss = nullptr;
  const Record* first_hit = nullptr;
  for (const Record* r : runs) {
    const RunFacts facts = facts_of(*r);
    const Judgement j = judge(facts, g.expectation);
    outcomes.push_back(j.outcome);
    ++g.runs;
    ++g.outcomes[j.outcome];
    const double duration = r->duration_s;
    durations.push_back(duration);
    elapsed += duration;
    std::vector<std::string> kinds, unexpected;
    for (const auto& s : facts.symptoms) add_unique(kinds, s.kind);
    for (std::size_t i : j.other) add_unique(unexpected, facts.symptoms[i].kind);
    for (const auto& k : kinds) ++g.symptom_runs[k];
    if (j.outcome == Outcome::kUnexpected || j.outcome == Outcome::kFixFailed) {
      for (const auto& k : unexpected) ++g.unexpected_runs[k];
    }
    if (is_hit(j.outcome)) {
      ++g.hits;
      if (r->first_symptom_s) first_symptoms.push_back(*r->first_symptom_s);
      if (!g.first_hit) {
        g.first_hit = g.runs;
        g.first_hit_s = elapsed;
        first_hit = r;
      }
    }
    if (is_decided(j.outcome)) {
      ++g.decided;
    } else {
      ++g.unknown;
      add_unique(g.unknown_reasons, j.reason);
    }
    const bool missed =
        (g.expectation.expect == Expect::kIncident &&
         (j.outcome == Outcome::kNotReproduced || j.outcome == Outcome::kUnexpected)) ||
        (g.expectation.expect == Expect::kClean &&
         (j.outcome == Outcome::kFixFailed || j.outcome == Outcome::kUnexpected));
    if (missed && !first_miss) first_miss = r;
  }
  g.median_duration_s = median(durations);
  if (!first_symptoms.empty()) {
    g.median_first_symptom_s = median(first_symptoms);
    g.timed_hits = first_symptoms.size();
  }
  g.rate = wilson_interval(g.hits, g.decided);
  g.status = group_status(g.expectation.expect, outcomes);
  g.example = g.status == GroupStatus::kMissed && first_miss ? first_miss : first_hit;
}

}  // namespace

std::uint64_t GroupSummary::count(Outcome o) const {
  auto it = outcomes.find(o);
  return it == outcomes.end() ? 0 : it->second;
}

std::vector<GroupSummary> summarise(const std::vector<Record>& records) {
  std::vector<GroupSummary> groups;
  std::vector<std::vector<const Record*>> members;
  for (const auto& r : records) {
    ExperimentKey key = experiment_key_of(r);
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const GroupSummary& g) { return g.key == key; });
    if (it == groups.end()) {
      groups.push_back({});
      groups.back().key = std::move(key);
      members.emplace_back();
      it = groups.end() - 1;
    }
    members[static_cast<std::size_t>(it - groups.begin())].push_back(&r);
  }
  for (std::size_t i = 0; i < groups.size(); ++i) judge_group(groups[i], members[i]);
  return groups;
}

std::string group_verdict_text(const GroupSummary& g) {
  const Expectation& e = g.expectation;
  auto others = [&] {
    std::string out;
    for (const auto& [kind, runs] : g.unexpected_runs) {
      out += fmt::format("{}{} ({})", out.empty() ? "" : ", ", kind, runs);
    }
    return out;
  };
  switch (g.status) {
    case GroupStatus::kMet:
      if (e.expect == Expect::kIncident) {
        return fmt::format("reproduced the incident in {} of {} runs",
                           g.count(Outcome::kReproduced), g.runs);
      }
      return fmt::format("stayed clean in {} runs{}", g.count(Outcome::kClean),
                         e.reach.empty() ? "" : ", each inside the race window");
    case GroupStatus::kMissed:
      if (e.expect == Expect::kIncident) {
        std::string text = fmt::format("did NOT reproduce the incident in {} runs", g.runs);
        if (g.count(Outcome::kUnexpected)) {
          text += fmt::format(" ({} showed other symptoms: {})", g.count(Outcome::kUnexpected),
                              others());
        }
        return text;
      }
      if (g.count(Outcome::kFixFailed)) {
        return fmt::format("SHOWED the incident in {} of {} runs", g.count(Outcome::kFixFailed),
                           g.runs);
      }
      return fmt::format("was expected clean but showed {} in {} of {} runs", others(),
                         g.count(Outcome::kUnexpected), g.runs);
    case GroupStatus::kUnknown:
      return fmt::format("proved nothing: every one of its {} runs ended unknown", g.runs);
    case GroupStatus::kNotJudged:
      return fmt::format("not judged ({}); {} of {} runs showed a symptom", e.why, g.hits, g.runs);
  }
  return "";
}

std::string render_summary(const std::vector<GroupSummary>& groups, bool colour) {
  std::string out;
  out += fmt::format("{:<24} {:<12} {:<6} {:>10} {:>16} {:>9} {:>7} {:>8}  {}\n", "scenario",
                     "variant", "san", "incident", "95% interval", "1st hit", "unknown", "median",
                     "symptoms (runs)");
  for (const auto& g : groups) {
    std::string symptoms;
    for (const auto& [kind, runs] : g.symptom_runs) {
      if (!symptoms.empty()) symptoms += ", ";
      symptoms += fmt::format("{} ({})", kind, runs);
    }
    out +=
        fmt::format("{:<24} {:<12} {:<6} {:>10} {:>16} {:>9} {:>7} {:>7.2f}s  {}\n", g.key.scenario,
                    g.key.variant, g.key.sanitizer, fmt::format("{}/{}", g.hits, g.decided),
                    fmt::format("[{:.0f}%, {:.0f}%]", 100 * g.rate.low, 100 * g.rate.high),
                    g.first_hit ? fmt::format("run {}", *g.first_hit) : "-", g.unknown,
                    g.median_duration_s, symptoms.empty() ? "-" : symptoms);
  }
  out += "\n";
  // Parameters are named only where two experiments of one variant and build differ in them.
  auto shares_variant = [&](const GroupSummary& g) {
    return std::count_if(groups.begin(), groups.end(), [&](const GroupSummary& o) {
             return o.key.variant == g.key.variant && o.key.sanitizer == g.key.sanitizer;
           }) > 1;
  };
  for (const auto& g : groups) {
    // The mark, and its colour on a terminal: green met, red missed, yellow unknown.
    std::string mark = "ok  ";
    const char* ansi = "\x1b[32m";
    if (g.status == GroupStatus::kMissed) mark = "MISS", ansi = "\x1b[1;31m";
    if (g.status == GroupStatus::kUnknown) mark = "??  ", ansi = "\x1b[33m";
    if (g.status == GroupStatus::kNotJudged) mark = "--  ", ansi = nullptr;
    if (colour && ansi != nullptr) mark = ansi + mark + "\x1b[0m";
    std::string where = g.key.sanitizer;
    if (shares_variant(g)) where += " " + g.key.params_text();
    where += g.key.injection_text();
    out += fmt::format("  {} {} ({}): {}{}\n", mark, g.key.variant, where, group_verdict_text(g),
                       g.unknown && g.status != GroupStatus::kUnknown
                           ? fmt::format("; {} unknown", g.unknown)
                           : "");
    if (g.status != GroupStatus::kNotJudged) {
      out += fmt::format("         expected: {}\n", g.expectation.text());
    }
    if (g.median_first_symptom_s) {
      out +=
          fmt::format("         first symptom: {:.1f} ms after exec (median of {} run{})\n",
                      1000 * *g.median_first_symptom_s, g.timed_hits, g.timed_hits == 1 ? "" : "s");
    }
    for (const auto& reason : g.unknown_reasons) {
      out += fmt::format("         unknown: {}\n", reason);
    }
  }
  return out;
}

int exit_code_for(const std::vector<GroupSummary>& groups) {
  bool missed = false;
  bool unknown = false;
  for (const auto& g : groups) {
    missed = missed || g.status == GroupStatus::kMissed;
    unknown = unknown || g.unknown > 0;
  }
  if (missed) return kExitExpectationMissed;
  if (unknown) return kExitUnknownRuns;
  return kExitOk;
}

int sweep_exit_code(const std::vector<GroupSummary>& groups) {
  struct Pooled {
    const GroupSummary* first;
    std::vector<Outcome> outcomes;
  };
  std::vector<Pooled> pooled;
  bool unknown = false;
  for (const auto& g : groups) {
    unknown = unknown || g.unknown > 0;
    auto it = std::find_if(pooled.begin(), pooled.end(), [&](const Pooled& p) {
      return p.first->key.scenario == g.key.scenario && p.first->key.variant == g.key.variant &&
             p.first->key.sanitizer == g.key.sanitizer;
    });
    if (it == pooled.end()) {
      pooled.push_back({&g, {}});
      it = pooled.end() - 1;
    }
    for (const auto& [outcome, n] : g.outcomes) it->outcomes.insert(it->outcomes.end(), n, outcome);
  }
  for (const auto& p : pooled) {
    if (group_status(p.first->expectation.expect, p.outcomes) == GroupStatus::kMissed) {
      return kExitExpectationMissed;
    }
  }
  return unknown ? kExitUnknownRuns : kExitOk;
}

}  // namespace faultline
