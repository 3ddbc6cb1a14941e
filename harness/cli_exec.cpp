#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "harness/cli.h"
#include "harness/summary.h"

namespace faultline::cli {
namespace po = boost::program_options;

int exec(const Args& args) {
  auto dashes = std::find(args.begin(), args.end(), "--");
  Args own(args.begin(), dashes);
  std::vector<std::string> command(dashes == args.end() ? dashes : dashes + 1, args.end());

  RunOptions options;
  std::string name;
  std::string variant;
  po::options_description desc(
      "usage: faultline exec [options] -- COMMAND [ARGS...]\n\n"
      "Runs any command with the same runner, report parsers and records as a scenario, so a\n"
      "reproduction written in any language gets the same treatment. The command finds the path\n"
      "of its report channel in $FAULTLINE_REPORT (docs/report-protocol.md) and its seed in\n"
      "$FAULTLINE_SEED. A run is failed when a report or signal was seen, passed when it exited\n"
      "0 without one, unknown otherwise. A --variant named buggy* is expected to fail at least\n"
      "once and fixed* never, which sets the exit code as for run.\n\noptions");
  desc.add_options()("help,h", "this text")(
      "name", po::value(&name), "label recorded as the scenario (default: the command's name)")(
      "variant", po::value(&variant)->default_value("exec"), "label recorded as the variant");
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
    plan.replay = fmt::format(
        "faultline exec --name {} --variant {} --sanitizer {} --seed {} "
        "--timeout {} --{}",
        name, variant, options.sanitizer, plan.seed, options.timeout_s, quoted);
    plans.push_back(std::move(plan));
  }
  install_interrupt_handlers();
  BatchOutcome outcome = run_batch(plans, settings, options.jobs, writer, &g_stop, print_run_line);
  return finish(outcome, writer);
}

}  // namespace faultline::cli
