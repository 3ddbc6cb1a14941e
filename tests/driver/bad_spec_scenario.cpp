// A scenario whose spec names a symptom kind that does not exist: the driver must refuse it
// with one line naming the kind and the near one, exit 2, before any run.
#include "harness/scenario/scenario_api.h"

namespace {
const faultline::ScenarioSpec kSpec{
    .id = "bad-spec",
    .seed = "none",
    .title = "a scenario with a misspelt expectation",
    .oracle = "none",
    .variants = {"buggy", "fixed"},
    .expectations = {faultline::expect_incident("buggy", "*", {{"data_rcae"}}),
                     faultline::expect_clean("fixed", "*", {}, "a test scenario")},
};
}  // namespace

int main(int argc, char** argv) {
  return faultline::scenario_main(argc, argv, kSpec, [](faultline::Context&) { return 0; });
}
