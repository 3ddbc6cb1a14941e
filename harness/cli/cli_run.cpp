#include <fmt/format.h>

#include <iostream>

#include "harness/cli/cli.h"
#include "harness/judge/summary.h"

namespace faultline::cli {
namespace po = boost::program_options;

namespace {

const char* const kRunUsage =
    "usage: faultline run NAME [options]\n\n"
    "Runs scenario NAME's binary from the chosen build, --repeat times per variant, appends one\n"
    "JSON record per run to the results file and prints a summary. Exit codes: 0 expectations\n"
    "met (buggy reproduced, fixed clean), 1 an expectation missed, 2 bad input, 3 some runs\n"
    "unknown, 130 interrupted.\n\noptions";

Params run_params(const ScenarioSpec& spec, const std::vector<std::string>& sets) {
  try {
    return resolve_params(spec, sets);
  } catch (const std::invalid_argument& e) {
    throw UsageError(fmt::format("{} (faultline list {} shows them)", e.what(), spec.id));
  }
}

}  // namespace

int run(const Args& args) {
  RunOptions options;
  std::string id;
  std::string variant_arg;
  std::vector<std::string> sets;
  po::options_description desc(kRunUsage);
  desc.add_options()("help,h", "this text")(
      "variant", po::value(&variant_arg)->default_value("all"),
      "buggy, fixed, another variant of the scenario, a comma list, or all")(
      "set", po::value(&sets)->composing(), "parameter override key=value (repeatable)");
  add_run_options(desc, options);
  auto vm = parse("run", args, desc, "name", po::value(&id), 1);
  if (vm.count("help")) {
    std::cout << desc << "\nSee the scenarios and their parameters with: faultline list\n";
    return kExitOk;
  }
  if (id.empty())
    throw UsageError(
        "run: name a scenario, e.g. faultline run shared-map-iteration "
        "(faultline list shows them all)");
  if (vm.count("seed")) options.seed = vm["seed"].as<std::uint64_t>();
  check_run_options(options);

  Catalog catalog = make_catalog(options);
  Sanitizer sanitizer = parse_sanitizer(options.sanitizer);
  ScenarioSpec spec = catalog.spec(id, sanitizer);
  std::vector<std::string> variants = select_variants(spec, variant_arg);
  check_injection(spec, options.injection);
  const Params params = run_params(spec, sets);

  if (options.out.empty()) options.out = "results/" + id + ".jsonl";
  ResultsWriter writer(options.out);
  RunSettings settings = make_settings(catalog, sanitizer, options);
  std::uint64_t seed = base_seed(options);
  auto plans = plan_scenario_runs(catalog, spec, variants, sanitizer, params, options.repeat, seed,
                                  options.timeout_s, options.injection);

  std::cout << fmt::format("{}: {} ({} x {} runs under {}, seeds {}..{})\n", spec.id, spec.title,
                           fmt::join(variants, ", "), options.repeat, options.sanitizer, seed,
                           seed + options.repeat - 1)
            << std::flush;
  install_interrupt_handlers();
  BatchOutcome outcome = run_batch(plans, settings, options.jobs, writer, &g_stop, print_run_line);
  return finish(outcome, writer);
}

}  // namespace faultline::cli
