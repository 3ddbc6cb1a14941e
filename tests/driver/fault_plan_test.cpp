// Fault plans (--fault-plan FILE, harness/plan/fault_plan.h): what a plan compiles to, every
// kind of bad plan refused in one line, a latency phase at its times through the proxy, and
// through the driver: exit 2 touching no results file, the plan whole in the record with its
// phases among the faults, and replay making the same injections.
#include "harness/plan/fault_plan.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "harness/fault/proxy.h"
#include "harness/run/runner.h"
#include "tests/driver/raw_records.h"
#include "tests/fault/loopback.h"

namespace faultline {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

FaultPlan plan_of(const char* text) {
  return fault_plan_from_json(json::parse(text));
}

// The one-line problem with `text`, or "" when it is a good plan.
std::string problem(const char* text) {
  try {
    (void)plan_of(text);
    return "";
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
}

TEST(FaultPlan, PhasesCompileToWindowedFaultsAndTimedActions) {
  const FaultPlan plan = plan_of(R"({"name": "p", "phases": [
      {"name": "slow", "from_ms": 200, "until_ms": 400, "faults": ["latency:ms=50"]},
      {"from_ms": 500, "until_ms": 800, "faults": ["partition:mode=drop", "udp-loss:p=0.5"]},
      {"from_ms": 900, "until_ms": 1250, "nemesis": ["pause", "kill"],
       "faults": ["syscall:call=write,errno=EIO"]},
      {"from_ms": 1500, "nemesis": ["restart", "pause:for=0.1"]}]})");
  ASSERT_EQ(plan.phases.size(), 4u);
  EXPECT_EQ(compile_phase(plan.phases[0]).faults,
            std::vector<std::string>{"latency:ms=50,from-ms=200,until-ms=400"});
  EXPECT_EQ(compile_phase(plan.phases[1]).faults,
            (std::vector<std::string>{"partition:mode=drop,at=500,ms=300",
                                      "udp-loss:p=0.5,from-ms=500,until-ms=800"}));
  const CompiledPhase third = compile_phase(plan.phases[2]);
  EXPECT_EQ(third.faults,
            std::vector<std::string>{"syscall:call=write,errno=EIO,from-ms=900,until-ms=1250"});
  EXPECT_EQ(third.nemesis,
            (std::vector<std::string>{"pause:at=0.9,for=0.35", "kill:at=0.9,for=0.35"}));
  EXPECT_EQ(compile_phase(plan.phases[3]).nemesis,
            (std::vector<std::string>{"restart:at=1.5", "pause:for=0.1,at=1.5"}));
  // A phase over the whole run takes any fault as it is, even one that cannot be switched.
  const FaultPlan whole = plan_of(
      R"({"phases": [{"from_ms": 0, "faults": ["reset_peer:timeout=5", "clock:rate=2"]}]})");
  EXPECT_EQ(compile_phase(whole.phases[0]).faults,
            (std::vector<std::string>{"reset_peer:timeout=5", "clock:rate=2"}));
  // The record's form reads back to the same plan.
  EXPECT_EQ(fault_plan_json(fault_plan_from_json(fault_plan_json(plan))), fault_plan_json(plan));
}

TEST(FaultPlan, EveryBadPlanIsOneLineNamingTheProblem) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {R"({"phases": [{"from_ms": 200, "until_ms": 400, "faults": ["latency:ms=5"]},
                      {"name": "cut", "from_ms": 300, "until_ms": 600, "faults": ["partition"]}]})",
       "phase 1 (200..400 ms) and phase 'cut' (300..600 ms) overlap"},
      {R"({"phases": [{"from_ms": 0, "faults": ["latency:ms=5"]},
                      {"from_ms": 300, "until_ms": 600, "faults": ["partition"]}]})",
       "phase 1 (0 ms to the end) and phase 2 (300..600 ms) overlap"},
      {R"({"phases": [{"form_ms": 200, "faults": ["latency:ms=5"]}]})",
       "phase 1 has no key 'form_ms': a phase has name, from_ms, until_ms, faults, nemesis"},
      {R"({"phases": [{"faults": ["latency:ms=5"]}]})", "phase 1 needs from_ms"},
      {R"({"phases": [{"from_ms": -1, "faults": ["latency:ms=5"]}]})",
       "from_ms is -1: give a number of ms from 0 to"},
      {R"({"phases": [{"from_ms": "2", "faults": ["latency:ms=5"]}]})", "from_ms is \"2\""},
      {R"({"phases": [{"from_ms": 4, "until_ms": 4, "faults": ["latency:ms=5"]}]})",
       "until_ms 4 is not after from_ms 4"},
      {R"({"phases": [{"name": "x", "from_ms": 0, "until_ms": 9, "faults": ["latency:ms=-5"]}]})",
       "phase 'x': fault 'latency': ms=-5 is out of range"},
      {R"({"phases": [{"from_ms": 0, "until_ms": 9, "faults": ["latncy:ms=5"]}]})",
       "phase 1: unknown fault 'latncy'"},
      {R"({"phases": [{"from_ms": 0, "until_ms": 9, "faults": ["syscall:call=nope,errno=EIO"]}]})",
       "call=nope is not one it can fail"},
      {R"({"phases": [{"from_ms": 0, "until_ms": 9, "faults": ["Latency ms"]}]})",
       "is not a fault: write kind:key=value"},
      {R"({"phases": [{"from_ms": 1, "until_ms": 9, "faults": ["reset_peer:timeout=5"]}]})",
       "cannot be switched on and off"},
      {R"({"phases": [{"from_ms": 1, "faults": ["clock:offset-s=5"]}]})",
       "'clock:offset-s=5' cannot be switched off"},
      {R"({"phases": [{"from_ms": 1, "until_ms": 9, "faults": ["latency:ms=5,until-ms=3"]}]})",
       "gives until-ms= itself: the phase gives the time"},
      {R"({"phases": [{"from_ms": 1, "until_ms": 9, "faults": ["partition:at=3"]}]})",
       "gives at= itself"},
      {R"({"phases": [{"from_ms": 1, "until_ms": 9, "nemesis": ["pause:every=1,for=0.1"]}]})",
       "gives every= itself"},
      {R"({"phases": [{"from_ms": 1, "nemesis": ["pause"]}]})", "would never end"},
      {R"({"phases": [{"from_ms": 1, "until_ms": 9, "nemesis": ["freeze"]}]})", "freeze"},
      {R"({"phases": [{"from_ms": 1, "until_ms": 9}]})", "phase 1 does nothing"},
      {R"({"phases": [{"from_ms": 1, "faults": "latency:ms=5"}]})",
       "faults must be a list of specs"},
      {R"({"phases": [{"from_ms": 1, "faults": [5]}]})", "faults holds 5"},
      {R"({"phases": []})", "phases must be a list of at least one phase"},
      {R"({"phase": []})", "no key 'phase' at the top"},
      {R"([1])", "the file must hold an object"},
  };
  for (const auto& [text, says] : cases) {
    const std::string p = problem(text);
    EXPECT_NE(p.find(says), std::string::npos) << "plan " << text << "\nsaid: " << p;
    EXPECT_EQ(p.find('\n'), std::string::npos) << p;
  }
  EXPECT_EQ(problem(R"({"phases": [{"from_ms": 0, "until_ms": 9, "faults": ["latency:ms=1"]},
                                   {"from_ms": 9, "faults": ["latency:ms=2"]}]})"),
            "");  // one phase may begin where the last ended
}

// A plan's phase at its time, from the file to the proxy: a latency phase from 200 to 400 ms,
// compiled as the driver compiles it, in front of a loopback echo server; a 4-byte ping every
// 20 ms. Pings sent inside the phase come back at least 99 ms later (the delay never comes
// early), pings sent before it or once its last delayed reply has left (400 + 100 ms) in under
// 50 ms. Tolerance: 5 ms either side of each edge, and the phase may start as much later as
// the proxy took to start.
TEST(FaultPlan, ALatencyPhaseActsAtItsTimesThroughTheProxy) {
  using namespace fault::test;
  const FaultPlan plan = plan_of(R"({"phases": [
      {"name": "slow", "from_ms": 200, "until_ms": 400, "faults": ["latency:ms=100"]}]})");
  TcpEcho echo;
  const auto t0 = Clock::now();
  auto ms_since = [&] {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  };
  fault::ProxyOptions options;
  options.upstream_port = echo.port();
  for (const auto& f : compile_phase(plan.phases[0]).faults) {
    options.faults.push_back(fault::make_fault(f));
  }
  fault::Proxy proxy(std::move(options));
  const double made_ms = ms_since();
  const int fd = dial(proxy.port());
  constexpr std::uint32_t kPings = 40;
  std::vector<double> sent(kPings, -1), back(kPings, -1);
  std::thread reader([&] {  // the replies, as they come: the stream keeps their order
    for (std::uint32_t got = 0; got < kPings; ++got) {
      std::uint32_t i = 0;
      if (!recv_all(fd, reinterpret_cast<char*>(&i), sizeof i) || i >= kPings) return;
      back[i] = ms_since();
    }
  });
  for (std::uint32_t i = 0; i < kPings; ++i) {
    std::this_thread::sleep_until(t0 + std::chrono::milliseconds(20 * i));
    sent[i] = ms_since();
    ASSERT_TRUE(send_all(fd, reinterpret_cast<const char*>(&i), sizeof i));
  }
  reader.join();
  ::close(fd);
  int inside = 0, outside = 0;
  for (std::uint32_t i = 0; i < kPings; ++i) {
    ASSERT_GE(back[i], 0) << "ping " << i << " never came back";
    const double rtt = back[i] - sent[i];
    if (sent[i] > 200 + made_ms + 5 && sent[i] < 400 - 5) {
      EXPECT_GE(rtt, 99) << "ping sent at " << sent[i] << " ms, inside the phase";
      ++inside;
    } else if (sent[i] < 200 - 5 || sent[i] > 500 + made_ms + 5) {
      EXPECT_LT(rtt, 50) << "ping sent at " << sent[i] << " ms, outside the phase";
      ++outside;
    }
  }
  EXPECT_GE(inside, 7);    // 10 pings fall in the phase
  EXPECT_GE(outside, 20);  // 10 before it, 14 after 500 ms
}

// The driver, end to end, against the toy scenario of cli_test in a fake build root.
class FaultPlanCli : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("fl-plan-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "release" / "scenarios");
    fs::copy_file(TOY_SCENARIO_BIN, root_ / "release" / "scenarios" / "toy");
    out_ = root_ / "runs.jsonl";
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path plan_file(const std::string& text) {
    const fs::path p = root_ / "plan.json";
    std::ofstream(p) << text;
    return p;
  }
  RunResult faultline(std::vector<std::string> args) {
    RunRequest request;
    request.argv = {FAULTLINE_BIN};
    request.argv.insert(request.argv.end(), args.begin(), args.end());
    request.argv.insert(request.argv.end(), {"--build-root", root_.string()});
    request.timeout = std::chrono::seconds(90);
    return run_process(request);
  }

  fs::path root_;
  fs::path out_;
};

TEST_F(FaultPlanCli, ABadPlanIsOneLineAndExit2TouchingNoFile) {
  for (const char* text :
       {R"({"phases": [{"from_ms": 0, "until_ms": 400, "faults": ["latency:ms=5"]},
                       {"from_ms": 300, "until_ms": 600, "faults": ["partition"]}]})",
        R"({"phases": [{"from_ms": 0, "until_ms": 400, "faults": ["latency:ms=oops"]}]})",
        R"({"phases": [{"from_ms": 0, "untill_ms": 400, "faults": ["latency:ms=5"]}]})",
        "{\"phases\": [", "not json"}) {
    const RunResult r =
        faultline({"run", "toy", "--out", out_.string(), "--fault-plan", plan_file(text)});
    EXPECT_EQ(r.exit_code, 2) << text << "\n" << r.err.text;
    EXPECT_EQ(std::count(r.err.text.begin(), r.err.text.end(), '\n'), 1) << r.err.text;
    EXPECT_NE(r.err.text.find("--fault-plan "), std::string::npos) << r.err.text;
    EXPECT_FALSE(fs::exists(out_)) << text;
  }
  const RunResult missing =
      faultline({"run", "toy", "--out", out_.string(), "--fault-plan", "/no/such/plan.json"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.text.find("cannot read it"), std::string::npos) << missing.err.text;
  EXPECT_FALSE(fs::exists(out_));
}

TEST_F(FaultPlanCli, ThePlanIsRecordedWholeAndReplayMakesTheSameInjections) {
  const fs::path plan = plan_file(R"({"name": "two", "phases": [
      {"name": "slow", "from_ms": 100, "until_ms": 300, "faults": ["latency:ms=5"]},
      {"name": "stop", "from_ms": 400, "until_ms": 500, "nemesis": ["pause"]}]})");
  RunResult r = faultline({"run", "toy", "--variant", "fixed", "--set", "action=clean", "--seed",
                           "5", "--out", out_.string(), "--fault", "udp-loss:p=0.25",
                           "--fault-plan", plan.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out.text << r.err.text;
  auto records = test_support::raw_records(out_);
  ASSERT_EQ(records.size(), 1u);
  const json first = records.front();
  ASSERT_TRUE(first.contains("fault_plan")) << first.dump();
  EXPECT_EQ(first["fault_plan"]["name"], "two");
  EXPECT_EQ(first["fault_plan"]["phases"][1]["nemesis"][0], "pause");
  ASSERT_EQ(first["faults"].size(), 2u);
  EXPECT_EQ(first["faults"][0]["spec"], "udp-loss:p=0.25");
  EXPECT_EQ(first["faults"][1]["spec"], "latency:ms=5,from-ms=100,until-ms=300");
  EXPECT_EQ(first["nemesis"], json::array({"pause:at=0.4,for=0.1"}));
  EXPECT_EQ(first["metrics"]["faults_given"]["value"], 2);  // the scenario got both
  EXPECT_NE(first["key"].get<std::string>().find("from-ms=100"), std::string::npos);

  r = faultline({"replay", first["run_id"].get<std::string>(), "--results", out_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out.text << r.err.text;
  records = test_support::raw_records(out_);
  ASSERT_EQ(records.size(), 2u);
  for (const char* field : {"faults", "nemesis", "fault_plan", "key", "seed"}) {
    EXPECT_EQ(records.back()[field], first[field]) << field;
  }
  EXPECT_EQ(records.back()["metrics"]["faults_given"], first["metrics"]["faults_given"]);
}

}  // namespace
}  // namespace faultline
