// The stop rules of `faultline run --stop`: the sequential test's steps and bounds worked by
// hand, its error rates checked by simulation against Wald's bounds, and the tracker's
// bookkeeping (unknown runs ignored, runs after the stop ignored).
#include "harness/judge/stop_rule.h"

#include <gtest/gtest.h>

#include <random>

namespace faultline {
namespace {

// With the defaults (p0 2 %, p1 20 %, alpha = beta = 5 %) a hit adds ln 10 = 2.303 and a miss
// ln(0.8 / 0.98) = -0.203; the bounds are +-ln 19 = 2.944.
TEST(Sprt, TwoHitsSettleHappensAndFifteenMissesSettleDoesNotHappen) {
  Sprt hits{SprtOptions{}};
  hits.add(true);
  EXPECT_EQ(hits.decision(), SprtDecision::kContinue);
  hits.add(true);
  EXPECT_EQ(hits.decision(), SprtDecision::kHappens);
  Sprt misses{SprtOptions{}};
  for (int i = 0; i < 14; ++i) misses.add(false);
  EXPECT_EQ(misses.decision(), SprtDecision::kContinue) << misses.log_likelihood_ratio();
  misses.add(false);
  EXPECT_EQ(misses.decision(), SprtDecision::kDoesNotHappen) << misses.log_likelihood_ratio();
}

// How often the test decides wrongly when the incident's true rate is exactly p0 (it should
// say "does not happen") or exactly p1 (it should say "happens"), over many simulated
// campaigns. Wald: at most alpha / (1 - beta) and beta / (1 - alpha).
double wrong_rate(const SprtOptions& o, double true_rate, SprtDecision wrong, int trials) {
  std::mt19937_64 rng(12345);
  std::bernoulli_distribution run(true_rate);
  int wrongs = 0;
  for (int t = 0; t < trials; ++t) {
    Sprt s(o);
    while (s.decision() == SprtDecision::kContinue && s.runs() < 100'000) s.add(run(rng));
    wrongs += s.decision() == wrong;
  }
  return double(wrongs) / trials;
}

TEST(Sprt, ErrorRatesStayWithinWaldsBoundsInSimulation) {
  for (const SprtOptions o :
       {SprtOptions{}, SprtOptions{0.01, 0.1, 0.05, 0.1}, SprtOptions{0.2, 0.5, 0.01, 0.01}}) {
    const double alpha = wrong_rate(o, o.p0, SprtDecision::kHappens, 20000);
    const double beta = wrong_rate(o, o.p1, SprtDecision::kDoesNotHappen, 20000);
    EXPECT_LE(alpha, o.alpha / (1 - o.beta)) << o.text();
    EXPECT_LE(beta, o.beta / (1 - o.alpha)) << o.text();
    // And not vacuous: at the boundary rates the test does err sometimes.
    EXPECT_GT(alpha + beta, 0) << o.text();
  }
}

TEST(Sprt, OptionsAreReadAndBadOnesNamed) {
  const SprtOptions o = parse_sprt_options("p1=0.3,alpha=0.01");
  EXPECT_DOUBLE_EQ(o.p0, 0.02);
  EXPECT_DOUBLE_EQ(o.p1, 0.3);
  EXPECT_DOUBLE_EQ(o.alpha, 0.01);
  EXPECT_DOUBLE_EQ(o.beta, 0.05);
  auto error_of = [](const char* text) {
    try {
      parse_sprt_options(text);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of("p0=0.5,p1=0.2").find("is not below p1"), std::string::npos);
  EXPECT_NE(error_of("p0=0").find("between 0 and 1"), std::string::npos);
  EXPECT_NE(error_of("gamma=0.1").find("its keys are p0, p1, alpha and beta"), std::string::npos);
  EXPECT_NE(error_of("alpha=0.7").find("below 0.5"), std::string::npos);
  EXPECT_NE(error_of("p0").find("is not key=value"), std::string::npos);
}

TEST(StopTracker, FirstHitStopsAtTheFirstHitAndIgnoresUnknownRuns) {
  StopTracker t(StopRule::kFirstHit, {});
  t.add("k", "k", Outcome::kNotReproduced);
  t.add("k", "k", Outcome::kUnknown);
  EXPECT_FALSE(t.stopped("k"));
  t.add("k", "k", Outcome::kReproduced);
  EXPECT_TRUE(t.stopped("k"));
  EXPECT_FALSE(t.stopped("other"));
  t.add("k", "k", Outcome::kNotReproduced);  // in flight when it stopped: not counted
  ASSERT_EQ(t.lines(20).size(), 1u);
  EXPECT_EQ(t.lines(20)[0], "k: first hit at decided run 2");
}

TEST(StopTracker, SettledStopsWhenTheTestDecidesAndSaysWhenTheCapCameFirst) {
  StopTracker t(StopRule::kSettled, {});
  for (int i = 0; i < 15; ++i) t.add("clean", "fixed", Outcome::kClean);
  t.add("bug", "buggy", Outcome::kReproduced);
  t.add("bug", "buggy", Outcome::kNotReproduced);
  EXPECT_TRUE(t.stopped("clean"));
  EXPECT_FALSE(t.stopped("bug"));
  const auto lines = t.lines(2);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("fixed: settled after 15 decided runs (0 hits): the incident shows in at "
                          "most 2% of runs"),
            std::string::npos)
      << lines[0];
  EXPECT_NE(lines[1].find("not settled in 2 decided runs (1 hit; --repeat 2 was the cap)"),
            std::string::npos)
      << lines[1];
  EXPECT_EQ(parse_stop_rule("settled"), StopRule::kSettled);
  EXPECT_FALSE(parse_stop_rule("sometimes").has_value());
}

}  // namespace
}  // namespace faultline
