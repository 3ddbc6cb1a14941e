// The judge and the expectations it reads: every outcome, frame matching, reach conditions,
// and the checks that refuse an expectation that could never be judged.
#include "harness/judge/judge.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness/scenario/scenario_api.h"

namespace faultline {
namespace {

RunFacts with(std::initializer_list<std::string> kinds) {
  RunFacts f;
  for (const auto& k : kinds) f.symptoms.push_back({k, "scenario", k + " seen", {}, ""});
  return f;
}

const Expectation kRace =
    expect_incident("buggy", "tsan", {{"data_race", "decode_divide_reply"}}, {"late>0"});

TEST(Judge, TheIncidentWithItsFrameIsAReproduction) {
  RunFacts f = with({"data_race"});
  f.symptoms[0].functions = {"faultline::rpc::decode_divide_reply(...)", "run"};
  EXPECT_EQ(judge(f, kRace).outcome, Outcome::kReproduced);
  // The same kind elsewhere is another race, not this incident.
  f.symptoms[0].functions = {"unrelated()"};
  f.metrics["late"] = 3;
  EXPECT_EQ(judge(f, kRace).outcome, Outcome::kUnexpected);
  // A frame in the report's second stack counts (the parser keeps only the first).
  f.symptoms[0].report =
      "WARNING: ThreadSanitizer: data race\n  Write of size 8\n    #0 unrelated() a.cpp:1\n"
      "  Previous read\n    #0 decode_divide_reply(x) b.cpp:2\n";
  EXPECT_EQ(judge(f, kRace).outcome, Outcome::kReproduced);
}

TEST(Judge, ResourceExhaustionAndTimeoutsAreNeverAReproduction) {
  RunFacts f = with({"resource_exhausted"});
  Judgement j = judge(f, kRace);
  EXPECT_EQ(j.outcome, Outcome::kUnknown);
  EXPECT_NE(j.reason.find("ran out of a resource"), std::string::npos);
  RunFacts t = with({"crash"});
  t.broken = "timed out before it finished";
  EXPECT_EQ(judge(t, kRace).outcome, Outcome::kUnknown);
  // A run that ran out of fds saw its own oracle fire: the exhaustion may have caused it.
  Expectation refused = expect_incident("buggy", "*", {{"conn_refused"}});
  RunFacts shed = with({"conn_refused", "resource_exhausted"});
  j = judge(shed, refused);
  EXPECT_EQ(j.outcome, Outcome::kUnknown);
  EXPECT_NE(j.reason.find("its conn_refused may come from running out"), std::string::npos)
      << j.reason;
  Expectation fixed = expect_clean("fixed", "*", {}, "test");
  fixed.incident = {{"conn_refused"}};
  EXPECT_EQ(judge(shed, fixed).outcome, Outcome::kUnknown);  // not a failed fix either
  // A sanitizer's report is evidence of its own, exhaustion or not.
  RunFacts raced = with({"data_race", "resource_exhausted"});
  raced.symptoms[0].source = "tsan";
  raced.symptoms[0].functions = {"decode_divide_reply"};
  EXPECT_EQ(judge(raced, kRace).outcome, Outcome::kReproduced);
  // But a race seen before the time limit is real.
  RunFacts seen = with({"data_race"});
  seen.symptoms[0].functions = {"decode_divide_reply"};
  seen.broken = "timed out before it finished";
  EXPECT_EQ(judge(seen, kRace).outcome, Outcome::kReproduced);
}

TEST(Judge, ACleanRunThatNeverEnteredTheWindowIsUnknown) {
  RunFacts f;
  Judgement j = judge(f, kRace);
  EXPECT_EQ(j.outcome, Outcome::kUnknown);
  EXPECT_NE(j.reason.find("late not reported"), std::string::npos) << j.reason;
  f.metrics["late"] = 0;
  EXPECT_EQ(judge(f, kRace).outcome, Outcome::kUnknown);
  f.metrics["late"] = 1;
  EXPECT_EQ(judge(f, kRace).outcome, Outcome::kNotReproduced);

  Expectation clean = expect_clean("fixed", "tsan", {"late>0", "other>=2"});
  clean.incident = {{"data_race"}};
  RunFacts g;
  g.metrics["other"] = 2;  // the second condition holds
  EXPECT_EQ(judge(g, clean).outcome, Outcome::kClean);
  EXPECT_EQ(judge(with({"data_race"}), clean).outcome, Outcome::kFixFailed);
  g.symptoms.push_back({"crash", "signal", "killed by SIGSEGV", {}, ""});
  EXPECT_EQ(judge(g, clean).outcome, Outcome::kUnexpected);
}

TEST(Judge, NothingExpectedIsNotJudged) {
  Expectation none = expect_nothing("buggy", "none", "no detector", {{"corrupt_output"}});
  EXPECT_EQ(judge(with({"corrupt_output"}), none).outcome, Outcome::kObserved);
  EXPECT_EQ(judge(with({"crash"}), none).outcome, Outcome::kUnexpected);
  EXPECT_EQ(judge(RunFacts{}, none).outcome, Outcome::kClean);
  EXPECT_EQ(group_status(Expect::kNone, {Outcome::kObserved}), GroupStatus::kNotJudged);
}

TEST(GroupStatus, MetMissedUnknown) {
  using O = Outcome;
  EXPECT_EQ(group_status(Expect::kIncident, {O::kNotReproduced, O::kReproduced}),
            GroupStatus::kMet);
  EXPECT_EQ(group_status(Expect::kIncident, {O::kNotReproduced, O::kUnknown}),
            GroupStatus::kMissed);
  EXPECT_EQ(group_status(Expect::kIncident, {O::kUnknown, O::kUnknown}), GroupStatus::kUnknown);
  EXPECT_EQ(group_status(Expect::kClean, {O::kClean, O::kUnexpected}), GroupStatus::kMissed);
  EXPECT_EQ(group_status(Expect::kClean, {O::kClean, O::kUnknown}), GroupStatus::kMet);
  EXPECT_EQ(group_status(Expect::kClean, {O::kUnknown}), GroupStatus::kUnknown);
}

TEST(Expectations, TextAndJsonRoundTrip) {
  EXPECT_EQ(kRace.text(),
            "buggy@tsan: incident data_race:decode_divide_reply  (reached when late>0)");
  Expectation back = expectation_from_json(expectation_to_json(kRace));
  EXPECT_EQ(back.text(), kRace.text());
  EXPECT_THROW(expectation_from_json(nlohmann::json{{"variant", "x"}}), std::invalid_argument);
  nlohmann::json bad = expectation_to_json(kRace);
  bad["expect"] = "maybe";
  EXPECT_THROW(expectation_from_json(bad), std::invalid_argument);
}

TEST(Expectations, BadOnesAreRefusedWithTheFix) {
  Expectation typo = expect_incident("buggy", "tsan", {{"data_rcae"}});
  EXPECT_NE(check_expectation(typo, {}).find("did you mean data_race"), std::string::npos)
      << check_expectation(typo, {});
  Expectation exhausted = expect_incident("buggy", "*", {{"resource_exhausted"}});
  EXPECT_NE(check_expectation(exhausted, {}).find("proves nothing"), std::string::npos);
  EXPECT_NE(check_expectation(expect_clean("fixed", "*", {}), {}).find("reach"), std::string::npos);
  EXPECT_NE(check_expectation(expect_clean("fixed", "*", {"late=1"}), {}).find("=="),
            std::string::npos);
  EXPECT_EQ(check_expectation(expect_incident("b", "*", {{"my_kind"}}), {"my_kind"}), "");
  EXPECT_THROW(parse_symptom_pattern("Data-Race"), std::invalid_argument);
  EXPECT_THROW(parse_symptom_pattern("data_race:"), std::invalid_argument);
  EXPECT_THROW(parse_reach_condition(">0"), std::invalid_argument);
  EXPECT_THROW(parse_reach_condition("late>x"), std::invalid_argument);
}

TEST(Expectations, ResolveByBuildThenStar) {
  ScenarioSpec spec;
  spec.id = "s";
  spec.variants = {"buggy", "fixed", "buggy-stack"};
  spec.expectations = {expect_incident("buggy", "tsan", {{"data_race"}}),
                       expect_nothing("buggy", "*", "no detector"),
                       expect_incident("buggy-stack", "asan", {{"stack_use_after_return"}}),
                       expect_clean("fixed", "*", {"late>0"})};
  EXPECT_TRUE(check_expectations(spec).empty());
  EXPECT_EQ(resolve_expectation(spec, "buggy", "tsan").expect, Expect::kIncident);
  EXPECT_EQ(resolve_expectation(spec, "buggy", "asan").expect, Expect::kNone);
  EXPECT_EQ(resolve_expectation(spec, "buggy-stack", "none").source, "none");
  // A clean row learns what a failed fix would look like in its build.
  Expectation fixed = resolve_expectation(spec, "fixed", "asan");
  ASSERT_EQ(fixed.incident.size(), 1u);
  EXPECT_EQ(fixed.incident[0].kind, "stack_use_after_return");
  EXPECT_EQ(fixed.sanitizer, "asan");
  spec.expectations.push_back(expect_clean("fixed", "*", {"late>0"}));
  spec.expectations.push_back(expect_clean("nope", "tsan", {"late>0"}));
  auto problems = check_expectations(spec);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("given twice"), std::string::npos);
  EXPECT_NE(problems[1].find("unknown variant 'nope'"), std::string::npos);
}

}  // namespace
}  // namespace faultline
