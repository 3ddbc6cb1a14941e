// A stand-in scenario for sweep tests: it sleeps (so a test can interrupt a sweep mid-way),
// "reproduces" in the buggy variant with a probability set by a parameter, and reports latency
// metrics and a thread-count series like the real scenarios do. Everything is derived from the
// seed, so a run is the same every time it is replayed.
#include <chrono>
#include <cstdint>
#include <thread>

#include "harness/probe/splitmix.h"
#include "harness/scenario/scenario_api.h"

namespace {

const faultline::ScenarioSpec kSpec{
    .id = "sweep-probe",
    .seed = "none",
    .title = "a scenario for testing sweeps, resume and shards",
    .oracle = "observation 'probe_race' in the buggy variant, with probability level %",
    .variants = {"buggy", "fixed"},
    .params = {{.name = "level",
                .type = faultline::ParamType::kInt,
                .default_value = "50",
                .help = "chance in percent that the buggy variant reproduces",
                .min = 0,
                .max = 100},
               {.name = "sleep-ms",
                .type = faultline::ParamType::kInt,
                .default_value = "300",
                .help = "milliseconds the run takes",
                .min = 0,
                .max = 10000},
               {.name = "latency-ms",
                .type = faultline::ParamType::kDouble,
                .default_value = "2.0",
                .help = "typical latency reported, in milliseconds",
                .min = 0,
                .max = 1e6}},
    .expectations =
        {
            faultline::expect_incident("buggy", "*", {{"probe_race"}}),
            faultline::expect_clean("fixed", "*", {}, "a test scenario: its race is pretend"),
        },
    .observes = {"probe_race"},
};

int run(faultline::Context& ctx) {
  const auto level = static_cast<std::uint64_t>(ctx.params.integer("level"));
  const auto sleep_ms = ctx.params.integer("sleep-ms");
  const double latency = ctx.params.real("latency-ms");
  const std::uint64_t r = faultline::splitmix64(ctx.seed * 131 + level);
  for (int i = 0; i <= 4; ++i) {
    ctx.report.sample("threads", static_cast<double>(sleep_ms) / 4000.0 * i,
                      static_cast<double>(4 + i * (ctx.is("buggy") ? 3 : 0)));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
  const double jitter = static_cast<double>(r % 1000) / 1000.0;  // 0 .. 1
  ctx.report.metric("latency_p50", latency * (1 + 0.2 * jitter), "ms");
  ctx.report.metric("latency_p99", latency * (3 + 0.6 * jitter), "ms");
  const bool reproduced = ctx.is("buggy") && (r >> 8) % 100 < level;
  ctx.report.observation("probe_race", reproduced ? 1 : 0, "the probe's pretend race");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return faultline::scenario_main(argc, argv, kSpec, run);
}
