#include "harness/judge/summary.h"

#include <gtest/gtest.h>

namespace faultline {
namespace {

// A schema-2 record of scenario s under TSan: symptoms by kind, and whether it completed.
Record rec(const std::string& variant, std::uint64_t repeat, const std::string& kind = "",
           bool complete = true) {
  Record r;
  r.scenario = "s";
  r.variant = variant;
  r.sanitizer = "tsan";
  r.repeat_index = repeat;
  if (!kind.empty()) r.symptoms.push_back({.kind = kind, .summary = kind + " seen"});
  r.expectation = variant == "buggy" ? expect_incident("buggy", "tsan", {{"data_race"}})
                                     : expect_clean("fixed", "tsan", {}, "test");
  if (variant == "fixed") r.expectation.incident = {{"data_race"}};
  r.completion = {complete, complete ? "" : "timed out"};
  r.duration_s = 1.0 + static_cast<double>(repeat);
  return r;
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

TEST(Summary, CountsRatesAndFirstHitPerExperiment) {
  std::vector<Record> records = {rec("buggy", 2, "data_race"), rec("buggy", 0),
                                 rec("buggy", 1, "data_race"), rec("fixed", 0),
                                 rec("fixed", 1, "", false)};
  auto groups = summarise(records);
  ASSERT_EQ(groups.size(), 2u);
  const auto& buggy = groups[0];
  EXPECT_EQ(buggy.key.variant, "buggy");
  EXPECT_EQ(buggy.hits, 2u);
  EXPECT_EQ(buggy.decided, 3u);
  EXPECT_EQ(buggy.count(Outcome::kNotReproduced), 1u);
  ASSERT_TRUE(buggy.first_hit.has_value());
  EXPECT_EQ(*buggy.first_hit, 2u);                  // repeat order, not completion order
  EXPECT_DOUBLE_EQ(*buggy.first_hit_s, 1.0 + 2.0);  // runs 0 and 1 took 1 s and 2 s
  EXPECT_EQ(buggy.symptom_runs.at("data_race"), 2u);
  EXPECT_DOUBLE_EQ(buggy.median_duration_s, 2.0);
  EXPECT_EQ(buggy.status, GroupStatus::kMet);
  const auto& fixed = groups[1];
  EXPECT_EQ(fixed.unknown, 1u);
  EXPECT_EQ(fixed.status, GroupStatus::kMet);
  EXPECT_EQ(exit_code_for(groups), kExitUnknownRuns);
  std::string text = render_summary(groups);
  EXPECT_NE(text.find("2/3"), std::string::npos) << text;
  EXPECT_NE(text.find("unknown: timed out"), std::string::npos) << text;
  EXPECT_NE(text.find("expected: buggy@tsan: incident data_race"), std::string::npos) << text;
}

TEST(Summary, ExitCodeSaysWhichExpectationWasMissed) {
  EXPECT_EQ(exit_code_for(summarise({rec("buggy", 0, "data_race"), rec("fixed", 0)})), kExitOk);
  EXPECT_EQ(exit_code_for(summarise({rec("buggy", 0), rec("fixed", 0)})), kExitExpectationMissed);
  EXPECT_EQ(exit_code_for(summarise({rec("buggy", 0, "data_race"), rec("fixed", 0, "data_race")})),
            kExitExpectationMissed);
  // A missed expectation outranks unknown runs.
  EXPECT_EQ(exit_code_for(summarise({rec("buggy", 0), rec("fixed", 0, "", false)})),
            kExitExpectationMissed);
}

TEST(Summary, AnUnrelatedSymptomIsNeverAReproduction) {
  auto groups = summarise({rec("buggy", 0, "crash"), rec("buggy", 1, "crash")});
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].hits, 0u);
  EXPECT_EQ(groups[0].count(Outcome::kUnexpected), 2u);
  EXPECT_EQ(groups[0].status, GroupStatus::kMissed);
  EXPECT_NE(render_summary(groups).find("did NOT reproduce"), std::string::npos);
  // In a fixed run, any symptom breaks the clean expectation: the incident's is a failed fix.
  auto fixed = summarise({rec("fixed", 0, "crash"), rec("fixed", 1, "data_race")});
  EXPECT_EQ(fixed[0].count(Outcome::kUnexpected), 1u);
  EXPECT_EQ(fixed[0].count(Outcome::kFixFailed), 1u);
  EXPECT_EQ(fixed[0].status, GroupStatus::kMissed);
}

TEST(Summary, ResourceExhaustionProvesNothing) {
  // Two buggy runs that only ran out of fds: not a reproduction, and not a miss either.
  auto groups =
      summarise({rec("buggy", 0, "resource_exhausted"), rec("buggy", 1, "resource_exhausted")});
  EXPECT_EQ(groups[0].hits, 0u);
  EXPECT_EQ(groups[0].unknown, 2u);
  EXPECT_EQ(groups[0].status, GroupStatus::kUnknown);
  EXPECT_EQ(exit_code_for(groups), kExitUnknownRuns);
  EXPECT_NE(render_summary(groups).find("ran out of a resource"), std::string::npos);
}

TEST(Summary, SchemaOneRecordsAreReadButNotJudged) {
  // As record_from_json reads a schema-1 record (tests/driver/results_file_test.cpp).
  Record old;
  old.schema_version = 1;
  old.scenario = "s";
  old.variant = "buggy";
  old.sanitizer = "none";
  old.symptoms.push_back({.kind = "data_race"});
  old.expectation = expect_nothing("buggy", "none", "the record states no expectation (schema 1)");
  old.verdict = "failed";
  old.verdict_reason = "observed data_race";
  old.duration_s = 1.0;
  auto groups = summarise({old});
  EXPECT_EQ(groups[0].status, GroupStatus::kNotJudged);
  EXPECT_EQ(groups[0].hits, 1u);  // as schema 1 counted it: any symptom
  EXPECT_EQ(exit_code_for(groups), kExitOk);
}

}  // namespace
}  // namespace faultline
