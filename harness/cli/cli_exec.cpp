#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "harness/cli/cli.h"
#include "harness/judge/summary.h"
#include "harness/scenario/expectation.h"

namespace faultline::cli {
namespace po = boost::program_options;

namespace {

// --expect and --reach as an expectation; throws UsageError naming a bad one.
Expectation exec_expectation(const std::vector<std::string>& expect,
                             const std::vector<std::string>& reach,
                             const std::vector<std::string>& observes, const std::string& variant,
                             const std::string& sanitizer) {
  Expectation e;
  e.variant = variant;
  e.sanitizer = sanitizer;
  e.source = "--expect";
  e.reach = reach;
  const bool clean = std::find(expect.begin(), expect.end(), "clean") != expect.end();
  if (clean && expect.size() > 1) {
    throw UsageError(
        "exec: --expect clean cannot be combined with a symptom: give one or the other");
  }
  if (expect.empty()) {
    if (!reach.empty()) throw UsageError("exec: --reach needs --expect (KIND[:FRAME] or clean)");
    e = expect_nothing(variant, sanitizer, "exec without --expect");
    e.source = "none";
    return e;
  }
  e.expect = clean ? Expect::kClean : Expect::kIncident;
  if (clean) e.why = reach.empty() ? "none given (--reach)" : "";
  for (const auto& text : expect) {
    if (text == "clean") continue;
    try {
      e.incident.push_back(parse_symptom_pattern(text));
    } catch (const std::invalid_argument& ex) {
      throw UsageError(fmt::format("--expect: {}", ex.what()));
    }
  }
  if (std::string problem = check_expectation(e, observes); !problem.empty()) {
    throw UsageError(fmt::format("--expect: {}", problem));
  }
  return e;
}

}  // namespace

int exec(const Args& args) {
  auto dashes = std::find(args.begin(), args.end(), "--");
  Args own(args.begin(), dashes);
  std::vector<std::string> command(dashes == args.end() ? dashes : dashes + 1, args.end());

  RunOptions options;
  std::string name;
  std::string variant;
  std::vector<std::string> expect;
  std::vector<std::string> reach;
  std::vector<std::string> observes;
  po::options_description desc(
      "usage: faultline exec [options] -- COMMAND [ARGS...]\n\n"
      "Runs any command with the same runner, report parsers and records as a scenario, so a\n"
      "reproduction written in any language gets the same treatment. The command finds the path\n"
      "of its report channel in $FAULTLINE_REPORT (docs/report-protocol.md) and its seed in\n"
      "$FAULTLINE_SEED. Every run is judged against --expect: the incident (a symptom kind,\n"
      "optionally narrowed to a frame, KIND:FUNCTION; repeat it for any-of) or clean. Without\n"
      "--expect nothing is judged: runs are recorded and summarised, and only unknown runs\n"
      "change the exit code. A variant's name sets no expectation.\n\noptions");
  desc.add_options()("help,h", "this text")(
      "name", po::value(&name), "label recorded as the scenario (default: the command's name)")(
      "variant", po::value(&variant)->default_value("exec"), "label recorded as the variant")(
      "expect", po::value(&expect)->composing(),
      "KIND[:FRAME] the incident looks like (repeatable: any one of them), or clean")(
      "reach", po::value(&reach)->composing(),
      "METRIC>N: a metric the command reports that shows it entered the race window "
      "(repeatable: any one); a run with no symptom that meets none is unknown")(
      "observes", po::value(&observes)->composing(),
      "a symptom kind the command reports itself as an observation (repeatable), so --expect "
      "may name it");
  add_run_options(desc, options);
  auto vm = parse("exec", own, desc);
  if (vm.count("help")) {
    std::cout << desc;
    return kExitOk;
  }
  if (command.empty()) {
    throw UsageError("exec: give the command after --, e.g. faultline exec --repeat 5 -- ./repro");
  }
  if (vm.count("seed")) options.seed = vm["seed"].as<std::uint64_t>();
  check_run_options(options);
  if (!options.injection.empty()) {
    throw UsageError(
        "exec: --fault, --perturb and --nemesis need a faultline scenario (they are wired into "
        "its clients and server); a command run by exec gets the seed in $FAULTLINE_SEED");
  }
  const Expectation expectation =
      exec_expectation(expect, reach, observes, variant, options.sanitizer);
  Sanitizer sanitizer = parse_sanitizer(options.sanitizer);
  if (name.empty()) name = std::filesystem::path(command.front()).filename().string();
  if (options.out.empty()) options.out = "results/exec-" + name + ".jsonl";

  ResultsWriter writer(options.out);
  RunSettings settings = external_settings(options);

  std::uint64_t seed = base_seed(options);
  std::string quoted;
  for (const auto& a : command) quoted += " " + a;
  std::vector<RunPlan> plans;
  for (std::uint64_t i = 0; i < options.repeat; ++i) {
    RunPlan plan;
    plan.scenario = name;
    plan.variant = variant;
    plan.sanitizer = sanitizer;
    plan.seed = seed + i;
    plan.repeat_index = i;
    plan.argv = command;
    plan.scenario_protocol = false;
    plan.expectation = expectation;
    std::string flags;
    for (const auto& e : expect) flags += " --expect " + e;
    for (const auto& r : reach) flags += " --reach '" + r + "'";
    for (const auto& k : observes) flags += " --observes " + k;
    plan.replay = fmt::format(
        "faultline exec --name {} --variant {} --sanitizer {} --seed {} "
        "--timeout {}{} --{}",
        name, variant, options.sanitizer, plan.seed, options.timeout_s, flags, quoted);
    plans.push_back(std::move(plan));
  }
  install_interrupt_handlers();
  BatchOutcome outcome = run_batch(plans, settings, options.jobs, writer, &g_stop, print_run_line);
  return finish(outcome, writer);
}

}  // namespace faultline::cli
