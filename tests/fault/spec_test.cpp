#include <gtest/gtest.h>

#include "harness/fault/faults.h"
#include "harness/fault/proxy.h"
#include "harness/nemesis/nemesis.h"
#include "harness/probe/perturb.h"
#include "harness/scenario/fault_spec.h"

namespace faultline::fault {
namespace {

std::string problem(std::string_view text) {
  auto p = validate_fault(parse_fault_spec(text));
  return p ? *p : std::string();
}

TEST(FaultSpec, EveryDocumentedExampleIsValid) {
  for (const auto& k : kinds()) {
    EXPECT_EQ(problem(k.example), "") << k.example;
    EXPECT_EQ(fault_family(parse_fault_spec(k.example)), k.family) << k.example;
  }
}

// Found by fuzz_specs (tests/fuzz/regressions/specs): a spec with a newline in it was echoed
// raw, so the one-line error spanned several. Every spec parser now shows such text escaped.
TEST(FaultSpec, ErrorsShowControlCharactersEscapedOnOneLine) {
  const std::string spec = "slow_close:\n\n\n";
  try {
    (void)parse_fault_spec(spec);
    ADD_FAILURE() << "accepted";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_NE(message.find("'\\n\\n\\n'"), std::string::npos) << message;
  }
  const auto bad_value = validate_fault(parse_fault_spec("latency:ms=5\x1b[2J"));
  ASSERT_TRUE(bad_value.has_value());
  EXPECT_NE(bad_value->find("ms=5\\x1b[2J"), std::string::npos) << *bad_value;
  const auto nemesis = nemesis::validate_nemesis_spec("pause:at=1\n,for=1");
  ASSERT_TRUE(nemesis.has_value());
  EXPECT_EQ(nemesis->find('\n'), std::string::npos) << *nemesis;
  const auto perturb = perturb::validate_perturb_spec("probability=0.1\n");
  ASSERT_TRUE(perturb.has_value());
  EXPECT_EQ(perturb->find('\n'), std::string::npos) << *perturb;
  const std::string long_spec = "latency:ms=" + std::string(5000, '9');
  const auto long_error = validate_fault(parse_fault_spec(long_spec));
  ASSERT_TRUE(long_error.has_value());
  EXPECT_LT(long_error->size(), 1000u) << "a long value is shown cut, not whole";
}

TEST(FaultSpec, UnknownKindListsTheKinds) {
  auto p = problem("lag:ms=5");
  EXPECT_NE(p.find("unknown fault 'lag'"), std::string::npos) << p;
  EXPECT_NE(p.find("latency"), std::string::npos) << p;
  EXPECT_NE(p.find("udp-loss"), std::string::npos) << p;
  EXPECT_EQ(fault_family(parse_fault_spec("lag:ms=5")), "");
}

TEST(FaultSpec, UnknownKeyNamesTheKeyAndTheKeys) {
  auto p = problem("latency:ms=5,jiter=2");
  EXPECT_NE(p.find("'jiter'"), std::string::npos) << p;
  EXPECT_NE(p.find("jitter"), std::string::npos) << p;
  EXPECT_NE(p.find("toxicity"), std::string::npos) << p;
}

TEST(FaultSpec, BadNumbersAndRangesNameTheKeyAndTheRange) {
  auto p = problem("latency:ms=five");
  EXPECT_NE(p.find("ms=five"), std::string::npos) << p;
  EXPECT_NE(p.find("0 to 600000"), std::string::npos) << p;
  p = problem("latency:ms=-1");
  EXPECT_NE(p.find("ms=-1"), std::string::npos) << p;
  p = problem("udp-loss:p=1.5");
  EXPECT_NE(p.find("p=1.5"), std::string::npos) << p;
  EXPECT_NE(p.find("0 to 1"), std::string::npos) << p;
  p = problem("bandwidth:rate=1.5");
  EXPECT_NE(p.find("whole number"), std::string::npos) << p;
  p = problem("latency:ms=5,toxicity=2");
  EXPECT_NE(p.find("toxicity=2"), std::string::npos) << p;
  p = problem("latency:ms=5,direction=sideways");
  EXPECT_NE(p.find("up, down or both"), std::string::npos) << p;
}

TEST(FaultSpec, MissingRequiredKeyShowsAnExample) {
  auto p = problem("bandwidth");
  EXPECT_NE(p.find("needs rate="), std::string::npos) << p;
  EXPECT_NE(p.find("bandwidth:rate="), std::string::npos) << p;
}

TEST(FaultSpec, SlicerVariationBelowAverage) {
  EXPECT_NE(problem("slicer:average_size=8,size_variation=8"), "");
  EXPECT_EQ(problem("slicer:average_size=8,size_variation=7"), "");
}

TEST(FaultSpec, ParsedValuesAndDirection) {
  Fault f = make_fault("latency:ms=5,jitter=2");
  EXPECT_EQ(f.kind, Kind::kLatency);
  EXPECT_DOUBLE_EQ(f.latency_us, 5000);
  EXPECT_DOUBLE_EQ(f.jitter_us, 2000);
  EXPECT_TRUE(f.down);  // Toxiproxy's default stream: downstream
  EXPECT_FALSE(f.up);
  EXPECT_DOUBLE_EQ(f.toxicity, 1.0);
  f = make_fault("bandwidth:rate=100,direction=both,toxicity=0.25");
  EXPECT_DOUBLE_EQ(f.rate_bytes_per_s, 100'000);
  EXPECT_TRUE(f.up && f.down);
  EXPECT_DOUBLE_EQ(f.toxicity, 0.25);
  f = make_fault("udp-reorder:p=0.1,direction=up");
  EXPECT_EQ(f.gap, 1u);
  EXPECT_TRUE(f.up && !f.down);
  EXPECT_THROW(make_fault("latency"), std::invalid_argument);
}

TEST(FaultSpec, ProxyRefusesAFaultOfTheOtherProtocol) {
  ProxyOptions o;
  o.protocol = Protocol::kTcp;
  o.upstream_port = 9;
  o.faults = {make_fault("udp-loss:p=0.1")};
  EXPECT_THROW(Proxy p(o), std::invalid_argument);
}

}  // namespace
}  // namespace faultline::fault

namespace faultline::fault {
namespace {

// The keys that switch a fault on and off (what a fault plan's phases compile to).
TEST(FaultSpec, WindowAndAfterKeys) {
  const Fault f = make_fault("latency:ms=5,from-ms=200,until-ms=400,after-bytes=64");
  EXPECT_EQ(f.from_us, 200'000);
  EXPECT_EQ(f.until_us, 400'000);
  EXPECT_EQ(f.after, 64u);
  EXPECT_FALSE(f.acts(199'000, 64));
  EXPECT_TRUE(f.acts(200'000, 64));
  EXPECT_FALSE(f.acts(300'000, 63));
  EXPECT_FALSE(f.acts(400'000, 64));
  EXPECT_EQ(make_fault("udp-loss:p=1,after-datagrams=3").after, 3u);
  EXPECT_NE(problem("latency:ms=5,from-ms=400,until-ms=400").find("until-ms=400 must be after"),
            std::string::npos);
  EXPECT_NE(problem("latency:ms=5,from-ms=-1").find("from-ms=-1 must be a number from 0"),
            std::string::npos);
  EXPECT_NE(problem("udp-loss:p=1,after-bytes=3").find("has no key 'after-bytes'"),
            std::string::npos);
  EXPECT_NE(problem("latency:ms=1,after-bytes=1.5").find("must be a whole number"),
            std::string::npos);
  // Faults of a connection's life (reset_peer, timeout, ...) are not switched.
  EXPECT_NE(problem("reset_peer:timeout=5,from-ms=10").find("has no key 'from-ms'"),
            std::string::npos);
  EXPECT_NE(problem("latency:ms=1,bogus=2").find("from-ms, until-ms, after-bytes"),
            std::string::npos);
}

}  // namespace
}  // namespace faultline::fault
