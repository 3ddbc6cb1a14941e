// Scheduling perturbation: the spec a user types, what a point does off and on, that the draws
// a thread sees are a function of (seed, thread index, point), and what a scenario reports.
#include "harness/probe/perturb.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "harness/scenario/perturbation.h"

namespace fp = faultline::perturb;
using Clock = std::chrono::steady_clock;

namespace {

fp::PointStats find(const std::string& name) {
  for (const auto& s : fp::stats()) {
    if (s.name == name) return s;
  }
  return {name, 0, 0, 0, 0};
}

void hit_a(int n) {
  for (int i = 0; i < n; ++i) FAULTLINE_PERTURB("test.a");
}
void hit_b(int n) {
  for (int i = 0; i < n; ++i) FAULTLINE_PERTURB("test.b");
}

class PerturbTest : public ::testing::Test {
 protected:
  void TearDown() override {
    fp::disable();
    fp::set_thread_index(0);
  }
};

TEST(PerturbSpec, ParsesEveryKey) {
  auto s = fp::parse_spec("probability=0.25,max-us=500,mode=yield,points=rpc.client.*|test.a");
  EXPECT_DOUBLE_EQ(s.probability, 0.25);
  EXPECT_EQ(s.max_us, 500u);
  EXPECT_EQ(s.mode, fp::Mode::kYield);
  EXPECT_EQ(s.points, (std::vector<std::string>{"rpc.client.*", "test.a"}));

  auto d = fp::parse_spec("max-us=0,probability=1");
  EXPECT_EQ(d.mode, fp::Mode::kSleep);
  EXPECT_TRUE(d.points.empty());
  EXPECT_EQ(fp::parse_spec("probability=0.5,max-us=1,mode=spin").mode, fp::Mode::kSpin);

  EXPECT_DOUBLE_EQ(fp::parse_spec("").probability, 0.0);  // empty: off
  EXPECT_EQ(fp::validate_perturb_spec(""), std::nullopt);
  EXPECT_EQ(fp::validate_perturb_spec("probability=1,max-us=1000000"), std::nullopt);
}

TEST(PerturbSpec, RejectsBadInputWithAMessageNamingIt) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"probability=1.5,max-us=10", "probability '1.5'"},
      {"probability=-0.1,max-us=10", "probability '-0.1'"},
      {"probability=abc,max-us=10", "probability 'abc'"},
      {"probability=nan,max-us=10", "probability 'nan'"},
      {"probability=0.5,max-us=-1", "max-us '-1'"},
      {"probability=0.5,max-us=1000001", "max-us '1000001'"},
      {"probability=0.5,max-us=10us", "max-us '10us'"},
      {"probability=0.5,max-us=10,mode=nap", "mode 'nap'"},
      {"probability=0.5,max-us=10,delay=3", "unknown key 'delay'"},
      {"probability=0.5,probability=0.2,max-us=10", "'probability' is given twice"},
      {"probability=0.5", "max-us is missing"},
      {"max-us=10", "probability is missing"},
      {"probability=0.5,max-us", "'max-us' is not key=value"},
      {"probability=0.5,max-us=10,", "'' is not key=value"},
      {"probability=0.5,max-us=10,points=a||b", "point ''"},
      {"probability=0.5,max-us=10,points=Rpc", "point 'Rpc'"},
      {"probability=0.5,max-us=10,points=a*b", "point 'a*b'"},
  };
  for (const auto& [spec, expected] : cases) {
    SCOPED_TRACE(spec);
    EXPECT_THROW(fp::parse_spec(spec), std::invalid_argument);
    auto message = fp::validate_perturb_spec(spec);
    ASSERT_TRUE(message.has_value());
    EXPECT_NE(message->find(expected), std::string::npos) << *message;
    EXPECT_NE(message->find("--perturb"), std::string::npos) << *message;
    EXPECT_THROW(fp::configure(spec, 1), std::invalid_argument);
  }
}

TEST_F(PerturbTest, OffMeansNoDelayAndCountersStayZero) {
  // On first, so the point is registered and the check below can see its counters.
  fp::configure("probability=1,max-us=0,mode=spin", 1);
  hit_a(3);
  ASSERT_EQ(find("test.a").hits, 3u);

  fp::disable();
  hit_a(100000);
  EXPECT_EQ(find("test.a").hits, 0u);
  EXPECT_EQ(find("test.a").delays, 0u);

  // Probability 0 is off as well.
  fp::configure("probability=0,max-us=1000", 1);
  auto begin = Clock::now();
  hit_a(100000);
  EXPECT_EQ(find("test.a").hits, 0u);
  EXPECT_EQ(find("test.a").measured_ns, 0u);
  // 100000 sleeps of up to 1 ms would take far longer than this bound.
  EXPECT_LT(Clock::now() - begin, std::chrono::seconds(5));
}

// Every hit delays; each hit's delay lies in [its drawn value, max-us + slack], and the drawn
// values, replayed from the generator, stay within [0, max-us].
void check_every_hit_delays(const char* mode) {
  SCOPED_TRACE(mode);
  constexpr int kHits = 200;
  constexpr std::uint64_t kMaxUs = 300;
  constexpr std::uint64_t kSeed = 42;
  fp::set_thread_index(7);
  fp::configure(std::string("probability=1,max-us=300,mode=") + mode, kSeed);
  fp::Generator replay(kSeed, 7, fp::name_hash("test.a"));
  std::uint64_t drawn_total = 0;
  for (int i = 0; i < kHits; ++i) {
    const fp::Draw d = replay.next(1.0, kMaxUs);
    ASSERT_TRUE(d.delay);
    ASSERT_LE(d.us, kMaxUs);
    drawn_total += d.us;
    const auto begin = Clock::now();
    hit_a(1);
    const auto took = Clock::now() - begin;
    EXPECT_GE(took, std::chrono::microseconds(d.us));
    // Generous: two loaded cores can deschedule a sleeper for a long time.
    EXPECT_LT(took, std::chrono::microseconds(kMaxUs) + std::chrono::milliseconds(200));
  }
  const auto s = find("test.a");
  EXPECT_EQ(s.hits, static_cast<std::uint64_t>(kHits));
  EXPECT_EQ(s.delays, static_cast<std::uint64_t>(kHits));
  EXPECT_EQ(s.drawn_us, drawn_total);
  EXPECT_GE(s.measured_ns, drawn_total * 1000);
  EXPECT_LT(s.measured_ns, (kHits * kMaxUs) * 1000 + 10'000'000'000ull);  // + 10 s of slack
  // Uniform on 0..300: mean 150, sd 87; over 200 draws the mean's sd is 6.1 (bounds 6.5 sd).
  const double mean = static_cast<double>(drawn_total) / kHits;
  EXPECT_GT(mean, 110.0);
  EXPECT_LT(mean, 190.0);
}

TEST_F(PerturbTest, ProbabilityOneDelaysEveryHitWithinMaxSleep) {
  check_every_hit_delays("sleep");
}
TEST_F(PerturbTest, ProbabilityOneDelaysEveryHitWithinMaxYield) {
  check_every_hit_delays("yield");
}
TEST_F(PerturbTest, ProbabilityOneDelaysEveryHitWithinMaxSpin) {
  check_every_hit_delays("spin");
}

TEST(PerturbGenerator, SameSeedSameDrawsOtherSeedOrThreadOrPointOthers) {
  auto draws = [](std::uint64_t seed, std::uint64_t thread, std::string_view point) {
    fp::Generator g(seed, thread, fp::name_hash(point));
    std::vector<std::uint64_t> out;
    for (int i = 0; i < 1000; ++i) {
      auto d = g.next(0.5, 1000);
      out.push_back(d.delay ? d.us + 1 : 0);
    }
    return out;
  };
  EXPECT_EQ(draws(1, 2, "x"), draws(1, 2, "x"));
  EXPECT_NE(draws(1, 2, "x"), draws(2, 2, "x"));
  EXPECT_NE(draws(1, 2, "x"), draws(1, 3, "x"));
  EXPECT_NE(draws(1, 2, "x"), draws(1, 2, "y"));
}

// The live path uses exactly the generator's draws, per thread: two threads with fixed indexes
// hitting one point concurrently, twice over, give the replayed totals both times.
TEST_F(PerturbTest, SameSeedGivesTheSameDrawsPerThread) {
  constexpr int kHits = 3000;
  constexpr std::uint64_t kSeed = 9001;
  auto expected = [&](std::uint64_t index) {
    fp::Generator g(kSeed, index, fp::name_hash("test.b"));
    std::pair<std::uint64_t, std::uint64_t> delays_and_us{0, 0};
    for (int i = 0; i < kHits; ++i) {
      auto d = g.next(0.3, 4);
      if (d.delay) {
        ++delays_and_us.first;
        delays_and_us.second += d.us;
      }
    }
    return delays_and_us;
  };
  auto run_thread = [&](std::uint64_t index) {
    return std::thread([index] {
      fp::set_thread_index(index);
      hit_b(kHits);
    });
  };
  for (std::uint64_t which : {11u, 12u}) {
    // One thread at a time: the counters are per point, so each run checks one thread's draws.
    for (int round = 0; round < 2; ++round) {
      fp::configure("probability=0.3,max-us=4,mode=spin", kSeed);
      run_thread(which).join();
      const auto s = find("test.b");
      const auto [delays, us] = expected(which);
      EXPECT_EQ(s.hits, static_cast<std::uint64_t>(kHits));
      EXPECT_EQ(s.delays, delays) << "thread " << which << " round " << round;
      EXPECT_EQ(s.drawn_us, us) << "thread " << which << " round " << round;
    }
  }
  // Both together: the point's totals are the sum of the two threads' own sequences.
  fp::configure("probability=0.3,max-us=4,mode=spin", kSeed);
  auto t1 = run_thread(11);
  auto t2 = run_thread(12);
  t1.join();
  t2.join();
  const auto s = find("test.b");
  EXPECT_EQ(s.delays, expected(11).first + expected(12).first);
  EXPECT_EQ(s.drawn_us, expected(11).second + expected(12).second);
}

TEST_F(PerturbTest, QuarterProbabilityDelaysAQuarterOfHits) {
  constexpr int kHits = 40000;
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(seed);
    fp::configure("probability=0.25,max-us=0,mode=spin", seed);
    hit_a(kHits);
    const auto s = find("test.a");
    EXPECT_EQ(s.hits, static_cast<std::uint64_t>(kHits));
    // Binomial(40000, 0.25): mean 10000, sd 86.6; 5 sd either side.
    EXPECT_GT(s.delays, 10000u - 433u);
    EXPECT_LT(s.delays, 10000u + 433u);
  }
}

TEST_F(PerturbTest, PointsSelectsByNameOrPrefix) {
  fp::configure("probability=1,max-us=0,mode=spin,points=test.a", 5);
  hit_a(10);
  hit_b(10);
  EXPECT_EQ(find("test.a").hits, 10u);
  EXPECT_EQ(find("test.b").hits, 0u);
  fp::configure("probability=1,max-us=0,mode=spin,points=test.*", 5);
  hit_a(10);
  hit_b(10);
  EXPECT_EQ(find("test.a").delays, 10u);
  EXPECT_EQ(find("test.b").delays, 10u);
}

// What a scenario does: apply() from the context, report_perturbation() into its report file.
TEST_F(PerturbTest, ScenarioAppliesTheSpecAndReportsPerPointMetrics) {
  const faultline::ScenarioSpec spec{"perturb-test", "-", "t", "o", {"buggy", "fixed"}, {}};
  char path[] = "/tmp/perturb_test_XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  {
    faultline::Reporter reporter(path);
    faultline::Context ctx{spec, "buggy", 77, {}, reporter};
    ctx.perturb = "probability=1,max-us=0,mode=spin,points=test.a";
    fp::apply(ctx);
    hit_a(25);
    hit_b(25);
    fp::report_perturbation(ctx.report);

    ctx.perturb = "probability=2,max-us=1";
    EXPECT_THROW(fp::apply(ctx), std::invalid_argument);
  }
  std::ifstream in(path);
  std::string line;
  std::map<std::string, double> metrics;
  bool noted = false;
  while (std::getline(in, line)) {
    auto event = nlohmann::json::parse(line);
    if (event.value("type", "") == "metric") {
      metrics[event.at("name").get<std::string>()] = event.at("value").get<double>();
    }
    if (event.value("type", "") == "note" &&
        event.dump().find("probability=1,max-us=0") != std::string::npos) {
      noted = true;
    }
  }
  ::unlink(path);
  EXPECT_TRUE(noted);
  EXPECT_EQ(metrics["perturb.test.a.hits"], 25.0);
  EXPECT_EQ(metrics["perturb.test.a.delays"], 25.0);
  EXPECT_TRUE(metrics.count("perturb.test.a.delay_us"));
  EXPECT_FALSE(metrics.count("perturb.test.b.hits"));  // not selected: never hit, not reported

  // Off: apply() with no spec switches it off and the report gets nothing.
  faultline::Reporter quiet("");
  faultline::Context off{spec, "buggy", 77, {}, quiet};
  fp::apply(off);
  EXPECT_DOUBLE_EQ(fp::current().probability, 0.0);
}

}  // namespace
