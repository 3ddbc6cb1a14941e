// A scenario whose behaviour is chosen by its parameters, so driver tests can make it pass,
// report an observation, crash, hang or skip `done` on purpose.
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "harness/scenario_api.h"

namespace {
const faultline::ScenarioSpec kSpec{
    .id = "toy",
    .seed = "none",
    .title = "a scenario for testing the driver",
    .oracle = "observation 'toy_symptom' when the variant asks for it",
    .variants = {"buggy", "fixed", "other"},
    .params = {{.name = "action",
                .type = faultline::ParamType::kString,
                .default_value = "observe",
                .help = "observe, clean, segv, abort, hang, no-done or exit3",
                .choices = {"observe", "clean", "segv", "abort", "hang", "no-done", "exit3"}},
               {.name = "sleep-ms",
                .type = faultline::ParamType::kInt,
                .default_value = "0",
                .help = "milliseconds to sleep first",
                .min = 0,
                .max = 60000}},
    // Accepts every fault family so the driver's plumbing can be tested; it reports what it
    // was given instead of acting on it.
    .faults = {"tcp", "udp", "process"},
};

int run(faultline::Context& ctx) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ctx.params.integer("sleep-ms")));
  const std::string& action = ctx.params.text("action");
  ctx.report.metric("seed_seen", static_cast<double>(ctx.seed));
  ctx.report.metric("faults_given", static_cast<double>(ctx.faults.size()));
  ctx.report.metric("nemesis_given", static_cast<double>(ctx.nemesis.size()));
  if (!ctx.perturb.empty()) ctx.report.note("perturb " + ctx.perturb);
  for (const auto& f : ctx.faults) ctx.report.timeline("fault on", 0.0, f);
  // Only the buggy variant shows the symptom under "observe": the observation is what the
  // scenario measured, the verdict is the driver's.
  std::uint64_t seen = action == "observe" && ctx.is("buggy") ? 3 : 0;
  ctx.report.observation("toy_symptom", seen, "toy symptom");
  std::cout << "toy: " << action << "\n" << std::flush;
  if (action == "segv") std::raise(SIGSEGV);
  if (action == "abort") std::abort();
  if (action == "hang") std::this_thread::sleep_for(std::chrono::hours(1));
  if (action == "exit3") return 3;
  if (action != "no-done") ctx.report.done();
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  return faultline::scenario_main(argc, argv, kSpec, run);
}
