#include "harness/summary.h"

#include <fmt/format.h>

#include <algorithm>

namespace faultline {

Expectation expectation_of(const std::string& variant) {
  if (variant.rfind("buggy", 0) == 0) return Expectation::kReproduce;
  if (variant.rfind("fixed", 0) == 0) return Expectation::kClean;
  return Expectation::kNone;
}

std::vector<GroupSummary> summarise(const std::vector<nlohmann::json>& records) {
  std::vector<GroupSummary> groups;
  std::vector<std::vector<const nlohmann::json*>> members;
  for (const auto& r : records) {
    std::string scenario = r.value("scenario", "");
    std::string variant = r.value("variant", "");
    std::string sanitizer = r.value("sanitizer", "");
    auto it = std::find_if(groups.begin(), groups.end(), [&](const GroupSummary& g) {
      return g.scenario == scenario && g.variant == variant && g.sanitizer == sanitizer;
    });
    if (it == groups.end()) {
      groups.push_back({});
      groups.back().scenario = scenario;
      groups.back().variant = variant;
      groups.back().sanitizer = sanitizer;
      members.emplace_back();
      it = groups.end() - 1;
    }
    members[static_cast<std::size_t>(it - groups.begin())].push_back(&r);
  }

  for (std::size_t i = 0; i < groups.size(); ++i) {
    auto& g = groups[i];
    auto& rs = members[i];
    std::stable_sort(rs.begin(), rs.end(), [](const nlohmann::json* a, const nlohmann::json* b) {
      return a->value("repeat_index", 0) < b->value("repeat_index", 0);
    });
    std::vector<double> durations;
    for (std::size_t n = 0; n < rs.size(); ++n) {
      const auto& r = *rs[n];
      ++g.runs;
      const std::string verdict = r.value("verdict", "unknown");
      if (verdict == "failed") {
        ++g.failed;
        if (!g.first_failure) g.first_failure = n + 1;
        std::vector<std::string> kinds;
        for (const auto& s : r.value("symptoms", nlohmann::json::array())) {
          std::string kind = s.value("kind", "");
          if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) kinds.push_back(kind);
        }
        for (const auto& k : kinds) ++g.symptom_runs[k];
      } else if (verdict == "passed") {
        ++g.passed;
      } else {
        ++g.unknown;
        std::string reason = r.value("verdict_reason", "");
        if (std::find(g.unknown_reasons.begin(), g.unknown_reasons.end(), reason) ==
            g.unknown_reasons.end()) {
          g.unknown_reasons.push_back(reason);
        }
      }
      durations.push_back(r.value("duration_s", 0.0));
    }
    std::sort(durations.begin(), durations.end());
    if (!durations.empty()) {
      std::size_t m = durations.size() / 2;
      g.median_duration_s =
          durations.size() % 2 ? durations[m] : (durations[m - 1] + durations[m]) / 2;
    }
    g.rate = wilson_interval(g.failed, g.failed + g.passed);
    g.expectation = expectation_of(g.variant);
    switch (g.expectation) {
      case Expectation::kReproduce:
        g.expectation_met = g.failed > 0;
        break;
      case Expectation::kClean:
        g.expectation_met = g.failed == 0;
        break;
      case Expectation::kNone:
        g.expectation_met = true;
        break;
    }
  }
  return groups;
}

std::string render_summary(const std::vector<GroupSummary>& groups) {
  std::string out;
  out += fmt::format("{:<24} {:<12} {:<6} {:>10} {:>16} {:>9} {:>7} {:>8}  {}\n", "scenario",
                     "variant", "san", "reproduced", "95% interval", "1st fail", "unknown",
                     "median", "symptoms (runs)");
  for (const auto& g : groups) {
    std::string symptoms;
    for (const auto& [kind, runs] : g.symptom_runs) {
      if (!symptoms.empty()) symptoms += ", ";
      symptoms += fmt::format("{} ({})", kind, runs);
    }
    std::uint64_t decided = g.failed + g.passed;
    out += fmt::format("{:<24} {:<12} {:<6} {:>10} {:>16} {:>9} {:>7} {:>7.2f}s  {}\n", g.scenario,
                       g.variant, g.sanitizer, fmt::format("{}/{}", g.failed, decided),
                       fmt::format("[{:.0f}%, {:.0f}%]", 100 * g.rate.low, 100 * g.rate.high),
                       g.first_failure ? fmt::format("run {}", *g.first_failure) : "-", g.unknown,
                       g.median_duration_s, symptoms.empty() ? "-" : symptoms);
  }
  out += "\n";
  for (const auto& g : groups) {
    std::string verdict;
    switch (g.expectation) {
      case Expectation::kReproduce:
        verdict = g.failed > 0
                      ? fmt::format("reproduced the incident in {} of {} runs", g.failed, g.runs)
                      : fmt::format("did NOT reproduce the incident in {} runs", g.runs);
        break;
      case Expectation::kClean:
        verdict = g.failed == 0
                      ? fmt::format("stayed clean in {} runs", g.failed + g.passed)
                      : fmt::format("SHOWED the incident in {} of {} runs", g.failed, g.runs);
        break;
      case Expectation::kNone:
        verdict =
            fmt::format("failed {} of {} runs (no expectation for this variant)", g.failed, g.runs);
        break;
    }
    out +=
        fmt::format("  {} {} ({}): {}{}\n", g.expectation_met ? "ok  " : "MISS", g.variant,
                    g.sanitizer, verdict, g.unknown ? fmt::format("; {} unknown", g.unknown) : "");
    for (const auto& reason : g.unknown_reasons)
      out += fmt::format("         unknown: {}\n", reason);
  }
  return out;
}

int exit_code_for(const std::vector<GroupSummary>& groups) {
  bool missed = false;
  bool unknown = false;
  for (const auto& g : groups) {
    missed = missed || !g.expectation_met;
    unknown = unknown || g.unknown > 0;
  }
  if (missed) return kExitExpectationMissed;
  if (unknown) return kExitUnknownRuns;
  return kExitOk;
}

}  // namespace faultline
