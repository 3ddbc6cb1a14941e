#include <gtest/gtest.h>

#include <set>
#include <stdexcept>

#include "harness/nemesis/nemesis.h"

namespace faultline::nemesis {
namespace {

std::string error_of(std::string_view text) {
  auto e = validate_nemesis_spec(text);
  return e.value_or("");
}

TEST(NemesisSpec, ParsesOneOffActions) {
  auto p = parse_nemesis_spec("pause:at=1.0,for=0.2");
  EXPECT_EQ(p.kind, ActionKind::kPause);
  EXPECT_DOUBLE_EQ(p.at.value(), 1.0);
  EXPECT_DOUBLE_EQ(p.duration.value(), 0.2);
  EXPECT_FALSE(p.every);

  auto k = parse_nemesis_spec("kill:at=2");
  EXPECT_EQ(k.kind, ActionKind::kKill);
  EXPECT_DOUBLE_EQ(k.at.value(), 2.0);
  EXPECT_FALSE(k.duration);

  auto kf = parse_nemesis_spec("kill:at=2,for=0.5");
  EXPECT_DOUBLE_EQ(kf.duration.value(), 0.5);

  auto r = parse_nemesis_spec("restart:at=2.5");
  EXPECT_EQ(r.kind, ActionKind::kRestart);
  EXPECT_EQ(r.text, "restart:at=2.5");
}

TEST(NemesisSpec, ParsesRepeatedActions) {
  auto p = parse_nemesis_spec("pause:every=0.5,for=0.1,jitter=0.2,count=5");
  EXPECT_DOUBLE_EQ(p.every.value(), 0.5);
  EXPECT_DOUBLE_EQ(p.jitter, 0.2);
  EXPECT_EQ(p.count.value(), 5u);
  EXPECT_FALSE(p.at);
  auto k = parse_nemesis_spec("kill:every=1,for=0.3,start=0.2");
  EXPECT_DOUBLE_EQ(k.start.value(), 0.2);
  EXPECT_FALSE(k.count);
}

TEST(NemesisSpec, ErrorsNameTheKeyAndTheForm) {
  // Each message names what is wrong and shows the accepted form.
  std::string e = error_of("pause:at=1,for=0.2,speed=3");
  EXPECT_NE(e.find("'speed' is not a key of pause"), std::string::npos) << e;
  EXPECT_NE(e.find("pause:at=SECONDS,for=SECONDS"), std::string::npos) << e;

  e = error_of("pause:at=soon,for=0.2");
  EXPECT_NE(e.find("at=soon is not a number of seconds"), std::string::npos) << e;

  e = error_of("pause:at=1");
  EXPECT_NE(e.find("a pause needs for="), std::string::npos) << e;

  // A time beyond any run used to overflow the schedule's clock and fire at t = 0.
  e = error_of("kill:at=1e10");
  EXPECT_NE(e.find("at=1e10 is beyond a day"), std::string::npos) << e;

  e = error_of("kill:at=1,every=2");
  EXPECT_NE(e.find("exactly one of at="), std::string::npos) << e;
  EXPECT_NE(e.find("kill:at=SECONDS[,for=SECONDS]"), std::string::npos) << e;

  e = error_of("restart");
  EXPECT_NE(e.find("exactly one of at="), std::string::npos) << e;

  e = error_of("restart:at=1,for=2");
  EXPECT_NE(e.find("'for' is not a key of restart"), std::string::npos) << e;

  e = error_of("pause:every=0.5,for=0.1,jitter=0.5");
  EXPECT_NE(e.find("jitter=0.5 must be below every=0.5"), std::string::npos) << e;

  e = error_of("pause:every=0.5,for=0.4,jitter=0.2");
  EXPECT_NE(e.find("for=0.4 must be below every - jitter"), std::string::npos) << e;

  e = error_of("kill:every=1");
  EXPECT_NE(e.find("a repeated kill needs for="), std::string::npos) << e;

  e = error_of("pause:at=1,for=0.1,count=3");
  EXPECT_NE(e.find("count= goes with every="), std::string::npos) << e;

  e = error_of("pause:every=1,for=0.1,count=0");
  EXPECT_NE(e.find("count=0 is not a whole number >= 1"), std::string::npos) << e;

  e = error_of("pause:at=-1,for=0.1");
  EXPECT_NE(e.find("at=-1 is not a number of seconds >= 0"), std::string::npos) << e;

  e = error_of("pause:every=0.005,for=0.001");
  EXPECT_NE(e.find("every= must be at least"), std::string::npos) << e;

  e = error_of("freeze:at=1");
  EXPECT_NE(e.find("unknown kind 'freeze'"), std::string::npos) << e;

  e = error_of("pause:at");
  EXPECT_NE(e.find("is not kind:key=value"), std::string::npos) << e;

  EXPECT_THROW(parse_nemesis_spec("kill:at=1,at=2"), std::invalid_argument);
  EXPECT_FALSE(validate_nemesis_spec("pause:every=0.5,for=0.1,jitter=0.2,count=5"));
}

TEST(NemesisPlan, OneOffActionsInTimeOrder) {
  auto specs = parse_nemesis_specs({"restart:at=2.5", "pause:at=1,for=0.2", "kill:at=2"});
  auto plan = plan_nemesis(specs, 1, 100);
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].kind, ActionKind::kPause);
  EXPECT_DOUBLE_EQ(plan[0].t, 1.0);
  EXPECT_DOUBLE_EQ(plan[0].duration.value(), 0.2);
  EXPECT_EQ(plan[1].kind, ActionKind::kKill);
  EXPECT_EQ(plan[2].kind, ActionKind::kRestart);
  EXPECT_EQ(plan[2].spec, 0u);
  // The horizon cuts what lies beyond it.
  EXPECT_EQ(plan_nemesis(specs, 1, 1.5).size(), 1u);
}

TEST(NemesisPlan, SeededScheduleRepeatsForTheSameSeedOnly) {
  auto specs = parse_nemesis_specs(
      {"pause:every=0.5,for=0.1,jitter=0.2,count=50", "kill:every=2,for=0.5,jitter=1"});
  auto a = plan_nemesis(specs, 42, 60);
  auto b = plan_nemesis(specs, 42, 60);
  auto c = plan_nemesis(specs, 43, 60);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);

  // The pauses: 50 of them, each gap every +- jitter, and the draws really vary.
  std::vector<double> starts;
  for (const auto& x : a) {
    if (x.spec == 0) starts.push_back(x.t);
  }
  ASSERT_EQ(starts.size(), 50u);
  EXPECT_GE(starts[0], 0.3 - 1e-9);
  EXPECT_LE(starts[0], 0.7 + 1e-9);
  std::set<long> distinct_gaps;
  for (std::size_t i = 1; i < starts.size(); ++i) {
    double gap = starts[i] - starts[i - 1];
    EXPECT_GE(gap, 0.3 - 1e-9);
    EXPECT_LE(gap, 0.7 + 1e-9);
    distinct_gaps.insert(static_cast<long>(gap * 1e6));
  }
  EXPECT_GT(distinct_gaps.size(), 40u);

  // A spec's draws do not depend on the specs after it.
  auto alone = plan_nemesis({specs[0]}, 42, 60);
  std::vector<double> alone_starts;
  for (const auto& x : alone) alone_starts.push_back(x.t);
  EXPECT_EQ(alone_starts, starts);
}

TEST(NemesisPlan, WithoutCountTheScheduleRunsToTheHorizon) {
  auto specs = parse_nemesis_specs({"restart:every=1"});
  auto plan = plan_nemesis(specs, 7, 10.5);
  ASSERT_EQ(plan.size(), 10u);
  EXPECT_DOUBLE_EQ(plan.back().t, 10.0);  // no jitter: exactly every second
}

}  // namespace
}  // namespace faultline::nemesis
