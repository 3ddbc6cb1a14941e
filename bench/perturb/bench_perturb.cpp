// The cost of one FAULTLINE_PERTURB point: off (what every unperturbed run pays), on for another
// point only, and on with a probability so small that it never delays (the draw's cost).
#include <benchmark/benchmark.h>

#include "harness/probe/perturb.h"

namespace fp = faultline::perturb;

static void BM_PointOff(benchmark::State& state) {
  fp::disable();
  for (auto _ : state) {
    FAULTLINE_PERTURB("bench.point");
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_PointOff);

static void BM_PointOnNotSelected(benchmark::State& state) {
  fp::configure("probability=1,max-us=0,points=bench.other", 1);
  for (auto _ : state) {
    FAULTLINE_PERTURB("bench.point");
    benchmark::ClobberMemory();
  }
  fp::disable();
}
BENCHMARK(BM_PointOnNotSelected);

static void BM_PointOnDraw(benchmark::State& state) {
  fp::configure("probability=0.000000001,max-us=0", 1);
  for (auto _ : state) {
    FAULTLINE_PERTURB("bench.point");
    benchmark::ClobberMemory();
  }
  fp::disable();
}
BENCHMARK(BM_PointOnDraw);
