#include "harness/scenario/scenario_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness/scenario/fault_spec.h"

namespace faultline {
namespace {

ScenarioSpec spec() {
  return {
      .id = "s",
      .seed = "000",
      .title = "t",
      .oracle = "o",
      .variants = {"buggy", "fixed"},
      .params = {{.name = "workers",
                  .type = ParamType::kInt,
                  .default_value = "4",
                  .help = "threads",
                  .min = 1,
                  .max = 64},
                 {.name = "ratio",
                  .type = ParamType::kDouble,
                  .default_value = "0.5",
                  .help = "r",
                  .min = 0,
                  .max = 1},
                 {.name = "mode",
                  .type = ParamType::kString,
                  .default_value = "a",
                  .help = "m",
                  .choices = {"a", "b"}},
                 {.name = "on", .type = ParamType::kBool, .default_value = "true", .help = "b"}}};
}

std::string error_of(const std::vector<std::string>& overrides) {
  try {
    resolve_params(spec(), overrides);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(Params, DefaultsAndOverrides) {
  Params p = resolve_params(spec(), {"workers=8", "mode=b", "on=false"});
  EXPECT_EQ(p.integer("workers"), 8);
  EXPECT_DOUBLE_EQ(p.real("ratio"), 0.5);
  EXPECT_EQ(p.text("mode"), "b");
  EXPECT_FALSE(p.boolean("on"));
}

TEST(Params, EveryBadInputIsNamed) {
  EXPECT_NE(error_of({"threads=3"})
                .find("s has no parameter 'threads': its parameters are "
                      "workers, ratio, mode, on"),
            std::string::npos);
  EXPECT_NE(error_of({"workers=0"}).find("workers=0 is out of range: allowed from 1 to 64"),
            std::string::npos);
  EXPECT_NE(error_of({"workers=two"}).find("'two' is not a whole number"), std::string::npos);
  EXPECT_NE(error_of({"ratio=x"}).find("is not a number"), std::string::npos);
  EXPECT_NE(error_of({"mode=c"}).find("choose one of a, b"), std::string::npos);
  EXPECT_NE(error_of({"on=maybe"}).find("not true or false"), std::string::npos);
  EXPECT_NE(error_of({"workers"}).find("is not key=value"), std::string::npos);
}

TEST(Spec, SurvivesAJsonRoundTrip) {
  ScenarioSpec back = spec_from_json(spec_to_json(spec()));
  EXPECT_EQ(back.id, "s");
  ASSERT_EQ(back.params.size(), 4u);
  EXPECT_EQ(back.params[0].max, 64);
  EXPECT_EQ(back.params[2].choices, (std::vector<std::string>{"a", "b"}));
  EXPECT_THROW(spec_from_json(nlohmann::json::object()), std::runtime_error);
}

ScenarioSpec spec_with_rate() {
  ScenarioSpec s = spec();
  s.params.push_back(optional_real_param("rate", 0.1, 1000, "requests/s; unset: closed loop"));
  return s;
}

TEST(Params, AnOptionalParameterIsAbsentUntilSetAndCheckedWhenSet) {
  const Params unset = resolve_params(spec_with_rate(), {});
  EXPECT_FALSE(unset.has("rate"));
  EXPECT_TRUE(unset.has("workers"));
  EXPECT_EQ(unset.all().count("rate"), 0u) << "an unset parameter is not passed on or keyed";
  const Params set = resolve_params(spec_with_rate(), {"rate=250"});
  ASSERT_TRUE(set.has("rate"));
  EXPECT_DOUBLE_EQ(set.real("rate"), 250);
  for (const char* bad : {"rate=0", "rate=-5"}) {
    try {
      resolve_params(spec_with_rate(), {bad});
      ADD_FAILURE() << bad << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("is out of range: allowed from 0.1 to 1000"),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(Spec, AnOptionalParameterStaysOptionalThroughJson) {
  const ScenarioSpec back = spec_from_json(spec_to_json(spec_with_rate()));
  ASSERT_EQ(back.params.size(), 5u);
  EXPECT_TRUE(back.params[4].optional);
  EXPECT_FALSE(back.params[0].optional);
  EXPECT_FALSE(resolve_params(back, {}).has("rate"));
}

}  // namespace
}  // namespace faultline

namespace faultline {
namespace {

TEST(FaultSpec, ParsesKindAndParametersInOrder) {
  FaultSpec f = parse_fault_spec("slicer:average_size=64,delay=10");
  EXPECT_EQ(f.kind, "slicer");
  ASSERT_EQ(f.params.size(), 2u);
  EXPECT_EQ(f.params[0].first, "average_size");
  EXPECT_EQ(f.get("delay"), "10");
  EXPECT_EQ(f.get("absent"), std::nullopt);
  EXPECT_TRUE(parse_fault_spec("reset_peer").params.empty());
  auto j = fault_spec_json(f);
  EXPECT_EQ(j["params"]["average_size"], "64");
  EXPECT_EQ(j["spec"], "slicer:average_size=64,delay=10");
}

TEST(FaultSpec, RejectsWhatIsNotKindColonKeyValues) {
  for (const char* bad : {"", ":ms=5", "Latency", "latency:", "latency:ms", "latency:ms=",
                          "latency:=5", "latency:ms=5,", "latency:ms=5,ms=6", "lat ency"}) {
    EXPECT_THROW(parse_fault_spec(bad), std::invalid_argument) << bad;
  }
  EXPECT_THROW(parse_key_values("p=1,,q=2", "--perturb"), std::invalid_argument);
  EXPECT_TRUE(parse_key_values("", "--perturb").empty());
}

}  // namespace
}  // namespace faultline

namespace faultline {
namespace {

// The driver's end and the scenario's end of the command line are one definition: what one
// writes, the other reads back the same.
TEST(ScenarioArgs, WhatTheDriverWritesTheScenarioReadsBack) {
  ScenarioArgs a{"buggy", 42};
  a.sets = {"callers=10", "timeout-us=1000"};
  a.faults = {"latency:ms=5"};
  a.perturb = "probability=0.1";
  a.nemesis = {"kill:every-ms=100"};
  std::vector<std::string> words = scenario_argv(a);
  ASSERT_GE(words.size(), 4u);
  EXPECT_EQ(words[0], "--variant");
  EXPECT_EQ(words[2], "--seed");
  words.insert(words.begin(), "scenario-binary");
  std::vector<const char*> argv;
  for (const auto& w : words) argv.push_back(w.c_str());
  const ScenarioArgs back = parse_scenario_args(static_cast<int>(argv.size()), argv.data());
  EXPECT_EQ(back.variant, "buggy");
  EXPECT_EQ(back.seed, 42u);
  EXPECT_EQ(back.sets, a.sets);
  EXPECT_EQ(back.faults, a.faults);
  EXPECT_EQ(back.perturb, a.perturb);
  EXPECT_EQ(back.nemesis, a.nemesis);
  EXPECT_FALSE(back.describe);
  EXPECT_FALSE(back.serve);
}

// A scenario's server run as a process of its own: this binary again with --serve, the state
// file and (added by ServerProcess on a restart) the port.
TEST(ScenarioArgs, TheServeWordsRoundTrip) {
  ScenarioArgs a{"fixed", 7};
  a.sets = {"deadline-ms=20"};
  a.serve = true;
  a.port = 41735;
  a.state_path = "/tmp/x.state";
  std::vector<std::string> words = scenario_argv(a);
  words.insert(words.begin(), "scenario-binary");
  std::vector<const char*> argv;
  for (const auto& w : words) argv.push_back(w.c_str());
  const ScenarioArgs back = parse_scenario_args(static_cast<int>(argv.size()), argv.data());
  EXPECT_TRUE(back.serve);
  EXPECT_EQ(back.port, 41735);
  EXPECT_EQ(back.state_path, "/tmp/x.state");
  EXPECT_EQ(back.sets, a.sets);
  EXPECT_EQ(back.variant, "fixed");
}

TEST(ScenarioArgs, BadWordsAreNamed) {
  auto error = [](std::vector<const char*> argv) {
    argv.insert(argv.begin(), "scenario-binary");
    try {
      parse_scenario_args(static_cast<int>(argv.size()), argv.data());
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error({"--bogus"}), "unknown argument '--bogus' (see --help)");
  EXPECT_EQ(error({"--seed"}), "--seed needs a value");
  EXPECT_EQ(error({"--seed", "-3"}), "--seed takes a whole number >= 0, not '-3'");
  EXPECT_EQ(error({"--port", "70000"}), "--port takes 0..65535, not '70000'");
  EXPECT_EQ(error({"--describe"}), "");
}

}  // namespace
}  // namespace faultline
