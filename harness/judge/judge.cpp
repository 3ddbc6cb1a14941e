#include "harness/judge/judge.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>
#include <utility>

#include "harness/record/record.h"

namespace faultline {

namespace {

constexpr std::string_view kExhausted = "resource_exhausted";

std::string kinds_of(const RunFacts& facts, const std::vector<std::size_t>& which) {
  std::vector<std::string> kinds;
  for (std::size_t i : which) {
    const std::string& k = facts.symptoms[i].kind;
    if (std::find(kinds.begin(), kinds.end(), k) == kinds.end()) kinds.push_back(k);
  }
  return fmt::format("{}", fmt::join(kinds, ", "));
}

std::string patterns_of(const Expectation& e) {
  std::vector<std::string> texts;
  for (const auto& p : e.incident) texts.push_back(p.text());
  return fmt::format("{}", fmt::join(texts, " | "));
}

// The first reach condition that holds, or why none does; nothing when there are none.
std::optional<std::string> unreached(const RunFacts& facts, const Expectation& e) {
  if (e.reach.empty()) return std::nullopt;
  std::vector<std::string> seen;
  for (const auto& text : e.reach) {
    ReachCondition c;
    try {
      c = parse_reach_condition(text);
    } catch (const std::invalid_argument&) {
      seen.push_back(text + " (malformed)");
      continue;
    }
    auto it = facts.metrics.find(c.metric);
    if (it == facts.metrics.end()) {
      seen.push_back(fmt::format("{} not reported", c.metric));
      continue;
    }
    if (c.holds(it->second)) return std::nullopt;
    seen.push_back(fmt::format("{} = {}", c.metric, it->second));
  }
  return fmt::format("never entered the race window: needs {} ({})", fmt::join(e.reach, " or "),
                     fmt::join(seen, ", "));
}

bool frame_line_contains(std::string_view report, std::string_view frame) {
  std::size_t pos = 0;
  while (pos < report.size()) {
    std::size_t nl = report.find('\n', pos);
    std::string_view line = report.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? report.size() : nl + 1;
    std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] != '#') continue;
    if (line.find(frame) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace

std::string_view outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::kReproduced:
      return "reproduced";
    case Outcome::kNotReproduced:
      return "not_reproduced";
    case Outcome::kFixFailed:
      return "fix_failed";
    case Outcome::kClean:
      return "clean";
    case Outcome::kUnexpected:
      return "unexpected";
    case Outcome::kObserved:
      return "observed";
    case Outcome::kUnknown:
      return "unknown";
  }
  return "unknown";
}

std::optional<Outcome> parse_outcome(std::string_view name) {
  for (Outcome o : {Outcome::kReproduced, Outcome::kNotReproduced, Outcome::kFixFailed,
                    Outcome::kClean, Outcome::kUnexpected, Outcome::kObserved, Outcome::kUnknown}) {
    if (outcome_name(o) == name) return o;
  }
  return std::nullopt;
}

bool is_hit(Outcome o) {
  return o == Outcome::kReproduced || o == Outcome::kFixFailed || o == Outcome::kObserved;
}

bool is_decided(Outcome o) {
  return o != Outcome::kUnknown;
}

bool pattern_matches(const SymptomPattern& p, const RunFacts::SymptomFacts& s) {
  if (p.kind != s.kind) return false;
  if (p.frame.empty()) return true;
  for (const auto& f : s.functions) {
    if (f.find(p.frame) != std::string::npos) return true;
  }
  // A race report has two stacks and the parser keeps the first; the frame may be in the other.
  return frame_line_contains(s.report, p.frame);
}

namespace {

// A report of a sanitizer or a language runtime: evidence of its own, whatever else the run did.
bool is_report(const RunFacts::SymptomFacts& s) {
  return s.source == "tsan" || s.source == "asan" || s.source == "ubsan" || s.source == "lsan" ||
         s.source == "go";
}

// The verdict of a run in which the incident's pattern matched.
std::pair<Outcome, std::string> seen_verdict(const Expectation& e, const std::string& seen) {
  switch (e.expect) {
    case Expect::kIncident:
      return {Outcome::kReproduced, "the incident: " + seen};
    case Expect::kClean:
      return {Outcome::kFixFailed, "expected clean, saw the incident: " + seen};
    case Expect::kNone:
      break;
  }
  return {Outcome::kObserved, "the incident's symptom (not judged here): " + seen};
}

// The verdict of a run with symptoms, none of them the incident.
std::pair<Outcome, std::string> other_verdict(const Expectation& e, const std::string& seen) {
  if (e.expect == Expect::kNone && e.incident.empty()) {
    // Nothing says what the incident looks like here (a schema-1 record, exec without
    // --expect): every symptom stands for it, as schema 1 counted them.
    return {Outcome::kObserved, "observed " + seen + " (nothing expected of this run)"};
  }
  if (e.incident.empty()) return {Outcome::kUnexpected, "expected clean, saw " + seen};
  return {Outcome::kUnexpected,
          fmt::format("saw {}, which is not the incident ({})", seen, patterns_of(e))};
}

// The verdict of a complete run with no symptom that entered the window.
std::pair<Outcome, std::string> clean_verdict(const Expectation& e) {
  switch (e.expect) {
    case Expect::kIncident:
      return {Outcome::kNotReproduced,
              fmt::format("completed without the incident ({})", patterns_of(e))};
    case Expect::kClean:
      return {Outcome::kClean, e.reach.empty()
                                   ? "completed with no symptom"
                                   : "completed with no symptom, inside the race window"};
    case Expect::kNone:
      break;
  }
  return {Outcome::kClean, "completed with no symptom (nothing expected of this run)"};
}

}  // namespace

Judgement judge(const RunFacts& facts, const Expectation& e) {
  Judgement j;
  const auto exhaustion =
      std::find_if(facts.symptoms.begin(), facts.symptoms.end(),
                   [](const RunFacts::SymptomFacts& s) { return s.kind == kExhausted; });
  const bool exhausted = exhaustion != facts.symptoms.end();
  for (std::size_t i = 0; i < facts.symptoms.size(); ++i) {
    const auto& s = facts.symptoms[i];
    bool match = std::any_of(e.incident.begin(), e.incident.end(),
                             [&](const SymptomPattern& p) { return pattern_matches(p, s); });
    // A run that ran out of fds or threads sheds connections and stops early: what its own
    // oracle or a signal saw then may be the exhaustion's doing. Only a sanitizer's or a
    // runtime's report still counts as the incident.
    if (match && exhausted && !is_report(s)) match = false;
    (match ? j.incident : j.other).push_back(i);
  }
  // In this order: the incident seen wins; then what makes a run prove nothing; then other
  // symptoms; then a window never entered.
  if (!j.incident.empty()) {
    std::tie(j.outcome, j.reason) = seen_verdict(e, kinds_of(facts, j.incident));
  } else if (exhausted) {
    j.outcome = Outcome::kUnknown;
    j.reason = fmt::format("ran out of a resource ({}): the run proves nothing about the incident",
                           exhaustion->summary);
    std::vector<std::size_t> besides;
    for (std::size_t i : j.other) {
      if (facts.symptoms[i].kind != kExhausted) besides.push_back(i);
    }
    if (!besides.empty()) {
      j.reason += fmt::format(" (its {} may come from running out)", kinds_of(facts, besides));
    }
  } else if (facts.broken) {
    j.outcome = Outcome::kUnknown;
    j.reason = *facts.broken;
  } else if (!j.other.empty()) {
    std::tie(j.outcome, j.reason) = other_verdict(e, kinds_of(facts, j.other));
  } else if (auto why = unreached(facts, e)) {
    j.outcome = Outcome::kUnknown;
    j.reason = *why;
  } else {
    std::tie(j.outcome, j.reason) = clean_verdict(e);
  }
  return j;
}

RunFacts facts_of(const Record& r) {
  RunFacts facts;
  for (const auto& s : r.symptoms) {
    RunFacts::SymptomFacts f;
    f.kind = s.kind;
    f.summary = s.summary;
    f.source = s.source;
    f.report = s.report;
    for (const auto& fr : s.frames) f.functions.push_back(fr.function);
    facts.symptoms.push_back(std::move(f));
  }
  for (const auto& [name, m] : r.metrics) facts.metrics[name] = m.value;
  if (!r.completion.ok) {
    facts.broken = r.completion.reason.empty() ? "the run did not complete" : r.completion.reason;
  }
  return facts;
}

Judgement judge_record(const Record& r) {
  return judge(facts_of(r), r.expectation);
}

std::string_view group_status_name(GroupStatus status) {
  switch (status) {
    case GroupStatus::kMet:
      return "met";
    case GroupStatus::kMissed:
      return "missed";
    case GroupStatus::kUnknown:
      return "unknown";
    case GroupStatus::kNotJudged:
      return "not_judged";
  }
  return "unknown";
}

GroupStatus group_status(Expect expect, const std::vector<Outcome>& outcomes) {
  auto count = [&](std::initializer_list<Outcome> which) {
    return std::count_if(outcomes.begin(), outcomes.end(), [&](Outcome o) {
      return std::find(which.begin(), which.end(), o) != which.end();
    });
  };
  const auto decided = std::count_if(outcomes.begin(), outcomes.end(), is_decided);
  switch (expect) {
    case Expect::kIncident:
      if (count({Outcome::kReproduced}) > 0) return GroupStatus::kMet;
      return decided > 0 ? GroupStatus::kMissed : GroupStatus::kUnknown;
    case Expect::kClean:
      if (count({Outcome::kFixFailed, Outcome::kUnexpected}) > 0) return GroupStatus::kMissed;
      return count({Outcome::kClean}) > 0 ? GroupStatus::kMet : GroupStatus::kUnknown;
    case Expect::kNone:
      return GroupStatus::kNotJudged;
  }
  return GroupStatus::kUnknown;
}

}  // namespace faultline
