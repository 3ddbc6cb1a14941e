#include "harness/plan/fault_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "harness/fault/child_faults.h"
#include "harness/fault/faults.h"
#include "harness/nemesis/nemesis.h"
#include "harness/probe/shown.h"
#include "harness/scenario/fault_spec.h"

namespace faultline {
namespace {

using nlohmann::json;
constexpr double kMaxMs = 86'400'000;  // a day: the longest time limit a run may have

[[noreturn]] void bad(const std::string& what) {
  throw std::invalid_argument(what);
}

std::string label(const PlanPhase& p, std::size_t index) {
  return p.name.empty() ? fmt::format("phase {}", index + 1) : fmt::format("phase '{}'", p.name);
}

std::string span(const PlanPhase& p) {
  return p.until_ms ? fmt::format("{}..{} ms", p.from_ms, *p.until_ms)
                    : fmt::format("{} ms to the end", p.from_ms);
}

double time_of(const json& v, const std::string& where, const char* key) {
  if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0 ||
      v.get<double>() > kMaxMs) {
    bad(fmt::format("{}: {} is {}: give a number of ms from 0 to {}", where, key, shown(v.dump()),
                    kMaxMs));
  }
  return v.get<double>();
}

std::vector<std::string> texts_of(const json& v, const std::string& where, const char* key) {
  std::vector<std::string> out;
  if (!v.is_array()) {
    bad(fmt::format("{}: {} must be a list of specs, e.g. [\"latency:ms=50\"]", where, key));
  }
  for (const auto& item : v) {
    if (!item.is_string()) {
      bad(fmt::format("{}: {} holds {}, which is not a spec in quotes", where, key,
                      shown(item.dump())));
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

PlanPhase phase_from_json(const json& j, std::size_t index) {
  const std::string at = fmt::format("phase {}", index + 1);
  if (!j.is_object()) bad(fmt::format("{} is not an object: write {{\"from_ms\": ...}}", at));
  PlanPhase p;
  if (j.contains("name") && !j["name"].is_string()) bad(at + ": name must be a string");
  p.name = j.value("name", "");
  const std::string where = label(p, index);
  for (const auto& [key, value] : j.items()) {
    if (key != "name" && key != "from_ms" && key != "until_ms" && key != "faults" &&
        key != "nemesis") {
      bad(fmt::format("{} has no key '{}': a phase has name, from_ms, until_ms, faults, nemesis",
                      where, shown(key)));
    }
  }
  if (!j.contains("from_ms")) bad(where + " needs from_ms (when it begins, ms)");
  p.from_ms = time_of(j["from_ms"], where, "from_ms");
  if (j.contains("until_ms")) {
    p.until_ms = time_of(j["until_ms"], where, "until_ms");
    if (*p.until_ms <= p.from_ms) {
      bad(fmt::format("{}: until_ms {} is not after from_ms {}: a phase ends after it begins",
                      where, *p.until_ms, p.from_ms));
    }
  }
  if (j.contains("faults")) p.faults = texts_of(j["faults"], where, "faults");
  if (j.contains("nemesis")) p.nemesis = texts_of(j["nemesis"], where, "nemesis");
  if (p.faults.empty() && p.nemesis.empty()) {
    bad(where + " does nothing: give it faults or nemesis actions, or leave it out");
  }
  return p;
}

// Phases follow one another: two that share a moment are refused, named with their times.
void check_overlaps(const std::vector<PlanPhase>& phases) {
  std::vector<std::size_t> order(phases.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return phases[a].from_ms < phases[b].from_ms; });
  for (std::size_t k = 1; k < order.size(); ++k) {
    const PlanPhase& a = phases[order[k - 1]];
    const PlanPhase& b = phases[order[k]];
    if (!a.until_ms || *a.until_ms > b.from_ms) {
      bad(fmt::format(
          "{} ({}) and {} ({}) overlap: a plan's phases follow one another; end the first "
          "before the second begins, or put both phases' faults in one phase",
          label(a, order[k - 1]), span(a), label(b, order[k]), span(b)));
    }
  }
}

std::string num(double v) {
  return fmt::format("{}", v);
}

// `text` with `keys` added after its own.
std::string with_keys(const std::string& text,
                      const std::vector<std::pair<std::string, std::string>>& keys) {
  std::string out = text;
  bool first = text.find(':') == std::string::npos;  // a bare kind takes its keys after ':'
  for (const auto& kv : keys) {
    out += (first ? ":" : ",") + kv.first + "=" + kv.second;
    first = false;
  }
  return out;
}

void refuse_time_keys(const FaultSpec& spec, std::initializer_list<const char*> keys,
                      const std::string& form) {
  for (const char* key : keys) {
    if (spec.get(key)) {
      throw std::invalid_argument(
          fmt::format("'{}' gives {}= itself: the phase gives the time, so write {}",
                      shown(spec.text), key, form));
    }
  }
}

// One --fault of a phase, with its window.
std::string compile_fault(const std::string& text, const PlanPhase& p) {
  const FaultSpec spec = parse_fault_spec(text);
  const bool whole_run = p.from_ms == 0 && !p.until_ms;
  std::vector<std::pair<std::string, std::string>> keys;
  if (spec.kind == "partition") {
    refuse_time_keys(spec, {"at", "ms"}, "partition[:mode=hold|drop]");
    keys = {{"at", num(p.from_ms)}, {"ms", num(p.until_ms ? *p.until_ms - p.from_ms : 0)}};
  } else if (const auto* info = fault::find_kind(spec.kind); info || spec.kind == "syscall") {
    fault::Fault probe;
    if (info) probe.kind = info->kind;
    if (info && !probe.switchable() && !whole_run) {
      throw std::invalid_argument(fmt::format(
          "'{}' acts on each connection from its start and cannot be switched on and off: put "
          "it in a phase from 0 with no until_ms, or give it with --fault",
          shown(text)));
    }
    refuse_time_keys(spec, {"from-ms", "until-ms"}, spec.kind + ":... without from-ms/until-ms");
    if (p.from_ms > 0) keys.emplace_back("from-ms", num(p.from_ms));
    if (p.until_ms) keys.emplace_back("until-ms", num(*p.until_ms));
  } else if (spec.kind == "clock" && !whole_run) {
    throw std::invalid_argument(fmt::format(
        "'{}' cannot be switched off (libfaketime keeps its clock for the process's life): put "
        "it in a phase from 0 with no until_ms",
        shown(text)));
  }
  return keys.empty() ? text : with_keys(text, keys);
}

// One --nemesis action of a phase, at its start; a pause or kill lasts the phase.
std::string compile_action(const std::string& text, const PlanPhase& p) {
  const FaultSpec spec = parse_fault_spec(text);
  refuse_time_keys(spec, {"at", "every", "start", "count", "jitter"},
                   "pause, kill or restart (with for=SECONDS if it should not last the phase)");
  if (spec.kind == "pause" && !spec.get("for") && !p.until_ms) {
    throw std::invalid_argument(fmt::format(
        "'{}' in a phase with no until_ms would never end: give the phase until_ms, or write "
        "pause:for=SECONDS",
        shown(text)));
  }
  std::vector<std::pair<std::string, std::string>> keys = {{"at", num(p.from_ms / 1000)}};
  if (spec.kind != "restart" && !spec.get("for") && p.until_ms) {
    keys.emplace_back("for", num((*p.until_ms - p.from_ms) / 1000));
  }
  return with_keys(text, keys);
}

// The compiled spec checked by the layer that will apply it.
std::optional<std::string> check_compiled_fault(const std::string& text) {
  const FaultSpec spec = parse_fault_spec(text);
  if (spec.kind == "syscall" || spec.kind == "clock") return fault::validate_child_fault(spec);
  return fault::validate_fault(spec);
}

void check_phase(const PlanPhase& p, std::size_t index) {
  try {
    const CompiledPhase c = compile_phase(p);
    for (const auto& f : c.faults) {
      if (auto problem = check_compiled_fault(f)) throw std::invalid_argument(*problem);
    }
    for (const auto& n : c.nemesis) {
      if (auto problem = nemesis::validate_nemesis_spec(n)) throw std::invalid_argument(*problem);
    }
  } catch (const std::invalid_argument& e) {
    bad(fmt::format("{}: {}", label(p, index), e.what()));
  }
}

}  // namespace

FaultPlan fault_plan_from_json(const json& j) {
  if (!j.is_object()) bad("the file must hold an object: {\"phases\": [...]}");
  for (const auto& [key, value] : j.items()) {
    if (key != "name" && key != "phases") {
      bad(fmt::format("no key '{}' at the top: a plan has name and phases", shown(key)));
    }
  }
  FaultPlan plan;
  if (j.contains("name") && !j["name"].is_string()) bad("name must be a string");
  plan.name = j.value("name", "");
  if (!j.contains("phases") || !j["phases"].is_array() || j["phases"].empty()) {
    bad("phases must be a list of at least one phase, e.g. [{\"from_ms\": 200, \"until_ms\": "
        "400, \"faults\": [\"latency:ms=50\"]}]");
  }
  for (std::size_t i = 0; i < j["phases"].size(); ++i) {
    plan.phases.push_back(phase_from_json(j["phases"][i], i));
  }
  check_overlaps(plan.phases);
  for (std::size_t i = 0; i < plan.phases.size(); ++i) check_phase(plan.phases[i], i);
  return plan;
}

FaultPlan read_fault_plan(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw std::invalid_argument(
        fmt::format("--fault-plan {}: cannot read it: give the path of a JSON plan file", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  try {
    return fault_plan_from_json(json::parse(text.str()));
  } catch (const json::parse_error& e) {
    // nlohmann's message names the byte where the JSON broke; one line.
    throw std::invalid_argument(fmt::format("--fault-plan {}: not JSON: {}", path, e.what()));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("--fault-plan {}: {}", path, e.what()));
  }
}

json fault_plan_json(const FaultPlan& plan) {
  json phases = json::array();
  for (const auto& p : plan.phases) {
    json j = {
        {"name", p.name}, {"from_ms", p.from_ms}, {"faults", p.faults}, {"nemesis", p.nemesis}};
    if (p.until_ms) j["until_ms"] = *p.until_ms;
    phases.push_back(std::move(j));
  }
  return {{"name", plan.name}, {"phases", phases}};
}

CompiledPhase compile_phase(const PlanPhase& phase) {
  CompiledPhase out;
  for (const auto& f : phase.faults) out.faults.push_back(compile_fault(f, phase));
  for (const auto& n : phase.nemesis) out.nemesis.push_back(compile_action(n, phase));
  return out;
}

}  // namespace faultline
