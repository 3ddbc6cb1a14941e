#include "harness/scenario/expectation.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "harness/scenario/scenario_api.h"

namespace faultline {

namespace {

bool is_kind_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

std::string near_kinds(std::string_view kind, const std::vector<std::string>& extra) {
  std::vector<std::string> kinds = known_symptom_kinds();
  kinds.insert(kinds.end(), extra.begin(), extra.end());
  const auto near = near_names(std::string(kind), kinds);
  if (near.empty()) return "see docs/record-schema.md for the symptom kinds";
  return fmt::format("did you mean {}?", fmt::join(near, ", "));
}

const std::vector<std::string> kSanitizers = {"none", "tsan", "asan"};

}  // namespace

std::string SymptomPattern::text() const {
  return frame.empty() ? kind : kind + ":" + frame;
}

SymptomPattern parse_symptom_pattern(std::string_view text) {
  SymptomPattern p;
  std::size_t colon = text.find(':');
  p.kind = std::string(text.substr(0, colon));
  if (colon != std::string_view::npos) p.frame = std::string(text.substr(colon + 1));
  if (p.kind.empty() || !std::all_of(p.kind.begin(), p.kind.end(), is_kind_char)) {
    throw std::invalid_argument(
        fmt::format("'{}' is not a symptom pattern: write KIND or KIND:FRAME, KIND in snake_case "
                    "(data_race, heap_use_after_free)",
                    text));
  }
  if (colon != std::string_view::npos && p.frame.empty()) {
    throw std::invalid_argument(
        fmt::format("'{}' names no frame after the colon: write KIND or KIND:FUNCTION", text));
  }
  return p;
}

std::string ReachCondition::text() const {
  return fmt::format("{}{}{}", metric, op, value);
}

bool ReachCondition::holds(double v) const {
  if (op == ">") return v > value;
  if (op == ">=") return v >= value;
  if (op == "<") return v < value;
  if (op == "<=") return v <= value;
  return v == value;
}

ReachCondition parse_reach_condition(std::string_view text) {
  std::size_t at = text.find_first_of("<>=");
  ReachCondition c;
  if (at == std::string_view::npos || at == 0) {
    throw std::invalid_argument(fmt::format(
        "reach condition '{}' is not METRIC OP NUMBER (e.g. late_replies_dropped>0)", text));
  }
  c.metric = std::string(text.substr(0, at));
  std::size_t num = at + 1;
  if (num < text.size() && text[num] == '=') ++num;
  c.op = std::string(text.substr(at, num - at));
  if (c.op == "=") {
    throw std::invalid_argument(
        fmt::format("reach condition '{}': use == for equality, or > >= < <=", text));
  }
  std::string_view number = text.substr(num);
  auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), c.value);
  if (number.empty() || ec != std::errc() || ptr != number.data() + number.size()) {
    throw std::invalid_argument(fmt::format(
        "reach condition '{}': '{}' is not a number (e.g. late_replies_dropped>0)", text, number));
  }
  if (!std::all_of(c.metric.begin(), c.metric.end(), [](char ch) {
        return is_kind_char(ch) || ch == '-' || ch == '.' || (ch >= 'A' && ch <= 'Z');
      })) {
    throw std::invalid_argument(
        fmt::format("reach condition '{}': '{}' is not a metric name", text, c.metric));
  }
  return c;
}

std::string_view expect_name(Expect expect) {
  switch (expect) {
    case Expect::kIncident:
      return "incident";
    case Expect::kClean:
      return "clean";
    case Expect::kNone:
      return "none";
  }
  return "none";
}

std::string Expectation::text() const {
  std::vector<std::string> patterns;
  for (const auto& p : incident) patterns.push_back(p.text());
  std::string body;
  switch (expect) {
    case Expect::kIncident:
      body = fmt::format("incident {}", fmt::join(patterns, " | "));
      break;
    case Expect::kClean:
      body = "clean";
      break;
    case Expect::kNone:
      body = fmt::format("not judged ({})", why);
      break;
  }
  if (!reach.empty()) {
    body += fmt::format("  (reached when {})", fmt::join(reach, " or "));
  } else if (expect == Expect::kClean && !why.empty()) {
    body += fmt::format("  (no reach metric: {})", why);
  }
  return fmt::format("{}@{}: {}", variant, sanitizer, body);
}

Expectation expect_incident(std::string variant, std::string sanitizer,
                            std::vector<SymptomPattern> incident, std::vector<std::string> reach) {
  return {std::move(variant), std::move(sanitizer), Expect::kIncident, std::move(incident),
          std::move(reach)};
}

Expectation expect_clean(std::string variant, std::string sanitizer, std::vector<std::string> reach,
                         std::string why) {
  return {std::move(variant), std::move(sanitizer), Expect::kClean, {},
          std::move(reach),   std::move(why)};
}

Expectation expect_nothing(std::string variant, std::string sanitizer, std::string why,
                           std::vector<SymptomPattern> would_look_like) {
  return {std::move(variant), std::move(sanitizer), Expect::kNone, std::move(would_look_like), {},
          std::move(why)};
}

nlohmann::json expectation_to_json(const Expectation& e) {
  nlohmann::json incident = nlohmann::json::array();
  for (const auto& p : e.incident) {
    nlohmann::json j = {{"kind", p.kind}};
    if (!p.frame.empty()) j["frame"] = p.frame;
    incident.push_back(std::move(j));
  }
  return {{"variant", e.variant}, {"sanitizer", e.sanitizer}, {"expect", expect_name(e.expect)},
          {"incident", incident}, {"reach", e.reach},         {"why", e.why},
          {"source", e.source},   {"text", e.text()}};
}

Expectation expectation_from_json(const nlohmann::json& j) {
  auto field = [&](const char* name) -> const nlohmann::json& {
    if (!j.is_object() || !j.contains(name)) {
      throw std::invalid_argument(fmt::format("expectation has no field '{}'", name));
    }
    return j.at(name);
  };
  auto text = [&](const char* name) {
    const auto& v = field(name);
    if (!v.is_string()) {
      throw std::invalid_argument(fmt::format("expectation field '{}' is not a string", name));
    }
    return v.get<std::string>();
  };
  Expectation e;
  e.variant = text("variant");
  e.sanitizer = text("sanitizer");
  const std::string expect = text("expect");
  if (expect == "incident") {
    e.expect = Expect::kIncident;
  } else if (expect == "clean") {
    e.expect = Expect::kClean;
  } else if (expect == "none") {
    e.expect = Expect::kNone;
  } else {
    throw std::invalid_argument(
        fmt::format("expectation field 'expect' is '{}': use incident, clean or none", expect));
  }
  const auto& incident = field("incident");
  if (!incident.is_array()) {
    throw std::invalid_argument("expectation field 'incident' is not an array");
  }
  for (const auto& p : incident) {
    if (!p.is_object() || !p.contains("kind") || !p["kind"].is_string()) {
      throw std::invalid_argument("expectation field 'incident' holds a pattern without a kind");
    }
    e.incident.push_back({p["kind"].get<std::string>(), p.value("frame", "")});
  }
  if (j.contains("reach")) {
    if (!j["reach"].is_array()) {
      throw std::invalid_argument("expectation field 'reach' is not an array of conditions");
    }
    for (const auto& c : j["reach"]) {
      if (!c.is_string())
        throw std::invalid_argument("expectation field 'reach' holds a non-string");
      e.reach.push_back(c.get<std::string>());
    }
  }
  if (j.contains("why") && j["why"].is_string()) e.why = j["why"].get<std::string>();
  if (j.contains("source") && j["source"].is_string()) e.source = j["source"].get<std::string>();
  return e;
}

const std::vector<std::string>& known_symptom_kinds() {
  static const std::vector<std::string> kKinds = {
      // ThreadSanitizer
      "data_race", "thread_leak", "heap_use_after_free", "lock_order_inversion",
      "signal_unsafe_call", "signal_handler_spoils_errno", "destroy_of_a_locked_mutex",
      "unlock_of_an_unlocked_mutex", "double_lock_of_a_mutex", "use_of_an_invalid_mutex",
      "mutex_destroy", "race_on_vptr",
      // AddressSanitizer, LeakSanitizer, UBSan
      "stack_use_after_return", "stack_use_after_scope", "heap_buffer_overflow",
      "stack_buffer_overflow", "stack_buffer_underflow", "global_buffer_overflow",
      "container_overflow", "use_after_poison", "double_free", "bad_free", "alloc_dealloc_mismatch",
      "new_delete_type_mismatch", "dynamic_stack_buffer_overflow", "calloc_overflow",
      "allocation_size_too_big", "out_of_memory", "segv", "stack_overflow", "unknown_crash",
      "memory_leak", "undefined_behavior",
      // glibc and libstdc++
      "heap_corruption", "stack_smashing", "assertion_failure", "uncaught_exception", "terminate",
      "pure_virtual_call", "libc_fatal_error", "invalid_free", "unlock_unlocked_mutex",
      // Go runtime
      "concurrent_map_writes", "concurrent_map_read_and_write",
      "concurrent_map_iteration_and_write", "deadlock", "fatal_error", "panic",
      // the driver: a death by a signal it did not send
      "crash",
      // faultline's scenarios' own oracles
      "conn_refused", "fd_reuse", "corrupt_frame", "corrupt_output", "lost_write",
      "duplicate_commit", "inconsistent_outcome", "stuck_worker", "resource_exhausted"};
  return kKinds;
}

std::string check_expectation(const Expectation& e, const std::vector<std::string>& extra) {
  auto known = [&](const std::string& kind) {
    const auto& k = known_symptom_kinds();
    return std::find(k.begin(), k.end(), kind) != k.end() ||
           std::find(extra.begin(), extra.end(), kind) != extra.end();
  };
  for (const auto& p : e.incident) {
    if (!known(p.kind)) {
      return fmt::format("unknown symptom kind '{}': {}", p.kind, near_kinds(p.kind, extra));
    }
    if (p.kind == "resource_exhausted") {
      return "resource_exhausted cannot be an incident: a run that ran out of fds, threads or "
             "memory proves nothing about the incident";
    }
  }
  if (e.expect == Expect::kIncident && e.incident.empty()) {
    return fmt::format("{}@{}: an incident expectation needs at least one symptom pattern",
                       e.variant, e.sanitizer);
  }
  if (e.expect == Expect::kNone && e.why.empty()) {
    return fmt::format("{}@{}: say why nothing is expected of this build", e.variant, e.sanitizer);
  }
  if (e.expect == Expect::kClean && e.reach.empty() && e.why.empty()) {
    return fmt::format(
        "{}@{}: a clean expectation names a reach metric that shows the window was entered, "
        "or says why none exists",
        e.variant, e.sanitizer);
  }
  for (const auto& c : e.reach) {
    try {
      (void)parse_reach_condition(c);
    } catch (const std::invalid_argument& ex) {
      return ex.what();
    }
  }
  return "";
}

std::vector<std::string> check_expectations(const ScenarioSpec& spec) {
  std::vector<std::string> problems;
  std::vector<std::string> seen;
  for (const auto& e : spec.expectations) {
    if (std::find(spec.variants.begin(), spec.variants.end(), e.variant) == spec.variants.end()) {
      problems.push_back(fmt::format("expectation for unknown variant '{}' (variants: {})",
                                     e.variant, fmt::join(spec.variants, ", ")));
    }
    if (e.sanitizer != "*" &&
        std::find(kSanitizers.begin(), kSanitizers.end(), e.sanitizer) == kSanitizers.end()) {
      problems.push_back(fmt::format("expectation {}@{}: the build is none, tsan, asan or *",
                                     e.variant, e.sanitizer));
    }
    const std::string row = e.variant + "@" + e.sanitizer;
    if (std::find(seen.begin(), seen.end(), row) != seen.end()) {
      problems.push_back(fmt::format("expectation {} is given twice", row));
    }
    seen.push_back(row);
    if (std::string p = check_expectation(e, spec.observes); !p.empty()) problems.push_back(p);
  }
  return problems;
}

Expectation resolve_expectation(const ScenarioSpec& spec, const std::string& variant,
                                const std::string& sanitizer) {
  auto row_for = [&](const std::string& v, const std::string& s) -> const Expectation* {
    for (const auto& e : spec.expectations) {
      if (e.variant == v && e.sanitizer == s) return &e;
    }
    for (const auto& e : spec.expectations) {
      if (e.variant == v && e.sanitizer == "*") return &e;
    }
    return nullptr;
  };
  const Expectation* row = row_for(variant, sanitizer);
  if (!row) {
    Expectation none = expect_nothing(
        variant, sanitizer,
        fmt::format("{} states no expectation for {} under {}", spec.id, variant, sanitizer));
    none.source = "none";
    return none;
  }
  Expectation e = *row;
  e.sanitizer = sanitizer;
  if (e.expect == Expect::kClean) {
    // What the incident looks like in this build: every other variant's incident patterns.
    for (const auto& other : spec.variants) {
      const Expectation* r = row_for(other, sanitizer);
      if (!r || r->expect == Expect::kClean) continue;
      for (const auto& p : r->incident) {
        auto same = [&](const SymptomPattern& q) { return q.kind == p.kind && q.frame == p.frame; };
        if (std::none_of(e.incident.begin(), e.incident.end(), same)) e.incident.push_back(p);
      }
    }
  }
  return e;
}

}  // namespace faultline
