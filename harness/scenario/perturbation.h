// The scenario's side of scheduling perturbation: switch it on from the run's --perturb and seed,
// and report what the points did. scenario_main does both for every scenario (apply before the
// body, report_perturbation and `done` when it returns 0), so a scenario body carries neither.
#pragma once

#include <fmt/format.h>

#include "harness/probe/perturb.h"
#include "harness/scenario/scenario_api.h"

namespace faultline::perturb {

// Configures perturbation from ctx.perturb (empty: off) and ctx.seed, and notes it in the
// report. A bad spec throws std::invalid_argument, which scenario_main turns into exit code 2.
inline void apply(const Context& ctx) {
  if (ctx.perturb.empty()) {
    disable();
    return;
  }
  configure(ctx.perturb, ctx.seed);
  ctx.report.note(fmt::format("scheduling perturbation on: {} (seed {})", ctx.perturb, ctx.seed));
}

// Per point hit while on: perturb.<point>.hits, .delays and .delay_us (the delay as spent, by
// the clock). Writes nothing when perturbation is off, so an unperturbed record is unchanged.
inline void report_perturbation(Reporter& report) {
  if (current().probability <= 0) return;
  for (const auto& s : stats()) {
    if (s.hits == 0) continue;
    report.metric(fmt::format("perturb.{}.hits", s.name), static_cast<double>(s.hits), "hits");
    report.metric(fmt::format("perturb.{}.delays", s.name), static_cast<double>(s.delays),
                  "delays");
    report.metric(fmt::format("perturb.{}.delay_us", s.name),
                  static_cast<double>(s.measured_ns) / 1000.0, "us");
  }
}

}  // namespace faultline::perturb
