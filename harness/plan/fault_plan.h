// A fault plan (`--fault-plan FILE`): phases over time, each a set of faults switched on for
// the phase and nemesis actions at its start, as a Jepsen generator's phases or a Chaos Mesh
// workflow. A plan is not a second mechanism: each phase compiles to the --fault and --nemesis
// specs of the run (a window on each fault, a time on each action), which the proxy, the
// syscall shim and the nemesis apply as they apply any other. docs/faults.md, "Fault plans".
//
//   {"name": "slow-then-cut",
//    "phases": [
//      {"name": "slow", "from_ms": 200, "until_ms": 400, "faults": ["latency:ms=50"]},
//      {"name": "cut", "from_ms": 600, "until_ms": 900, "faults": ["partition:mode=drop"]},
//      {"name": "stop", "from_ms": 1000, "until_ms": 1300, "nemesis": ["pause"]}]}
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace faultline {

struct PlanPhase {
  std::string name;                  // "" in the file: "phase N" (from 1) in messages
  double from_ms = 0;                // the phase begins, ms from the start of what acts
  std::optional<double> until_ms;    // it ends; none: at the end of the run
  std::vector<std::string> faults;   // --fault specs, without a time
  std::vector<std::string> nemesis;  // --nemesis actions, without a time
};

struct FaultPlan {
  std::string name;
  std::vector<PlanPhase> phases;  // in the file's order; no two overlap
};

// What one phase compiles to: specs that the run's mechanisms take as they are.
struct CompiledPhase {
  std::vector<std::string> faults;
  std::vector<std::string> nemesis;
};

// Checks the whole plan (keys, times, overlaps, and every spec as compiled) and returns it.
// Throws std::invalid_argument with one line naming the phase, the problem and the fix (the
// caller says which plan: read_fault_plan prefixes "--fault-plan FILE: ").
FaultPlan fault_plan_from_json(const nlohmann::json& j);
// Reads and checks FILE; the message names the file.
FaultPlan read_fault_plan(const std::string& path);
// The plan as the record holds it (every key written, in one order): reading it back with
// fault_plan_from_json gives the same plan.
nlohmann::json fault_plan_json(const FaultPlan& plan);

// Phase `phase` of a checked plan as --fault and --nemesis specs: a network fault gets
// from-ms/until-ms (a partition at/ms), a syscall fault from-ms/until-ms, a nemesis action
// at (and for: a pause or kill lasts the phase unless it says otherwise).
CompiledPhase compile_phase(const PlanPhase& phase);

}  // namespace faultline
