#include "harness/summary.h"

#include <gtest/gtest.h>

namespace faultline {
namespace {

nlohmann::json rec(const std::string& variant, int repeat, const std::string& verdict,
                   const std::string& kind = "") {
  nlohmann::json symptoms = nlohmann::json::array();
  if (!kind.empty()) symptoms.push_back({{"kind", kind}});
  return {{"scenario", "s"},      {"variant", variant},
          {"sanitizer", "tsan"},  {"repeat_index", repeat},
          {"verdict", verdict},   {"verdict_reason", "why " + verdict},
          {"symptoms", symptoms}, {"duration_s", 1.0 + repeat}};
}

TEST(Wilson, MatchesWorkedValues) {
  // 19 of 20: p = 0.95, z = 1.96. center = (0.95 + 3.8416/40) / (1 + 3.8416/20) = 0.87759...
  // half = 1.96 / 1.19208 * sqrt(0.0475/20 + 3.8416/1600) = 0.11355...
  Interval i = wilson_interval(19, 20);
  EXPECT_NEAR(i.low, 0.7639, 1e-3);
  EXPECT_NEAR(i.high, 0.9911, 1e-3);
  Interval none = wilson_interval(0, 20);
  EXPECT_EQ(none.low, 0.0);
  EXPECT_NEAR(none.high, 0.1611, 1e-3);
  Interval all = wilson_interval(5, 5);
  EXPECT_EQ(all.high, 1.0);
  EXPECT_NEAR(all.low, 0.5655, 1e-3);
  Interval nothing = wilson_interval(0, 0);
  EXPECT_EQ(nothing.low, 0.0);
  EXPECT_EQ(nothing.high, 1.0);
}

TEST(Summary, CountsRatesAndFirstFailurePerVariant) {
  std::vector<nlohmann::json> records = {rec("buggy", 2, "failed", "data_race"),
                                         rec("buggy", 0, "passed"),
                                         rec("buggy", 1, "failed", "data_race"),
                                         rec("fixed", 0, "passed"), rec("fixed", 1, "unknown")};
  auto groups = summarise(records);
  ASSERT_EQ(groups.size(), 2u);
  const auto& buggy = groups[0];
  EXPECT_EQ(buggy.variant, "buggy");
  EXPECT_EQ(buggy.failed, 2u);
  EXPECT_EQ(buggy.passed, 1u);
  ASSERT_TRUE(buggy.first_failure.has_value());
  EXPECT_EQ(*buggy.first_failure, 2u);  // repeat order, not completion order
  EXPECT_EQ(buggy.symptom_runs.at("data_race"), 2u);
  EXPECT_DOUBLE_EQ(buggy.median_duration_s, 2.0);
  EXPECT_TRUE(buggy.expectation_met);
  const auto& fixed = groups[1];
  EXPECT_EQ(fixed.unknown, 1u);
  EXPECT_TRUE(fixed.expectation_met);
  EXPECT_EQ(exit_code_for(groups), kExitUnknownRuns);
  std::string text = render_summary(groups);
  EXPECT_NE(text.find("2/3"), std::string::npos) << text;
  EXPECT_NE(text.find("unknown: why unknown"), std::string::npos) << text;
}

TEST(Summary, ExitCodeSaysWhichExpectationWasMissed) {
  EXPECT_EQ(exit_code_for(summarise({rec("buggy", 0, "failed", "x"), rec("fixed", 0, "passed")})),
            kExitOk);
  EXPECT_EQ(exit_code_for(summarise({rec("buggy", 0, "passed"), rec("fixed", 0, "passed")})),
            kExitExpectationMissed);
  EXPECT_EQ(
      exit_code_for(summarise({rec("buggy", 0, "failed", "x"), rec("fixed", 0, "failed", "y")})),
      kExitExpectationMissed);
  // A missed expectation outranks unknown runs.
  EXPECT_EQ(exit_code_for(summarise({rec("buggy", 0, "passed"), rec("fixed", 0, "unknown")})),
            kExitExpectationMissed);
  EXPECT_EQ(expectation_of("buggy-stack"), Expectation::kReproduce);
  EXPECT_EQ(expectation_of("other"), Expectation::kNone);
}

}  // namespace
}  // namespace faultline
