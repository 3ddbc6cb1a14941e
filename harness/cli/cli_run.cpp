#include <fmt/format.h>

#include <iostream>

#include "harness/cli/cli.h"
#include "harness/judge/stop_rule.h"
#include "harness/judge/summary.h"
#include "harness/record/experiment_key.h"

namespace faultline::cli {
namespace po = boost::program_options;

namespace {

const char* const kRunUsage =
    "usage: faultline run NAME [options]\n\n"
    "Runs scenario NAME's binary from the chosen build, --repeat times per variant, appends one\n"
    "JSON record per run to the results file and prints a summary. Exit codes: 0 expectations\n"
    "met (buggy reproduced, fixed clean), 1 an expectation missed, 2 bad input, 3 some runs\n"
    "unknown, 130 interrupted. With --stop, an experiment starts no more runs once its answer\n"
    "is in (docs/stop-rules.md).\n\n"
    "examples:\n"
    "  faultline run shared-map-iteration --sanitizer tsan --repeat 20\n"
    "  faultline run rpc-timeout-race --variant buggy --set callers=100 --seed 42 --out r.jsonl\n"
    "  faultline run deadline-race --fault latency:ms=5 --repeat 50 --stop settled\n\n"
    "options";

Params run_params(const ScenarioSpec& spec, const std::vector<std::string>& sets) {
  try {
    return resolve_params(spec, sets);
  } catch (const std::invalid_argument& e) {
    throw UsageError(fmt::format("{} (faultline list {} shows them)", e.what(), spec.id));
  }
}

struct StopOptions {
  std::string rule = "never";
  std::string settle;
};

StopTracker stop_tracker(const StopOptions& o) {
  const auto rule = parse_stop_rule(o.rule);
  if (!rule) {
    throw UsageError(
        fmt::format("--stop '{}' is not a rule: use never, first-hit or settled", o.rule));
  }
  if (!o.settle.empty() && *rule != StopRule::kSettled) {
    throw UsageError("--settle sets the test of --stop settled: add --stop settled");
  }
  try {
    return StopTracker(*rule, parse_sprt_options(o.settle));
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
}

// What the stop rule did, for the summary.
std::vector<std::string> stop_notes(const StopTracker& t, const StopOptions& o,
                                    const BatchOutcome& outcome, std::uint64_t repeat) {
  if (t.rule() == StopRule::kNever) return {};
  std::vector<std::string> notes = {
      fmt::format("\n--stop {}{}: {} run{} not needed", o.rule,
                  t.rule() == StopRule::kSettled
                      ? fmt::format(" (SPRT {})", parse_sprt_options(o.settle).text())
                      : "",
                  outcome.skipped, outcome.skipped == 1 ? "" : "s")};
  for (const auto& line : t.lines(repeat)) notes.push_back("  " + line);
  return notes;
}

// The batch, each finished run told to the stop rule, each plan asked of it before it starts.
BatchOutcome run_under_rule(const std::vector<RunPlan>& plans, const RunSettings& settings,
                            int jobs, ResultsWriter& writer, StopTracker& tracker) {
  const auto on_record = [&](const Record& r, std::size_t done, std::size_t total) {
    print_run_line(r, done, total);
    const ExperimentKey key = experiment_key_of(r);
    tracker.add(key.id(),
                fmt::format("{} ({}){}", key.variant, key.sanitizer, key.injection_text()),
                parse_outcome(r.verdict).value_or(Outcome::kUnknown));
  };
  const auto skip = [&](const RunPlan& plan) {
    return tracker.stopped(experiment_key(plan, settings.limits).id());
  };
  return run_batch(plans, settings, jobs, writer, &g_stop, on_record, skip);
}

}  // namespace

int run(const Args& args) {
  RunOptions options;
  std::string id;
  std::string variant_arg;
  std::vector<std::string> sets;
  StopOptions stop;
  po::options_description desc(kRunUsage);
  desc.add_options()("help,h", "this text")(
      "variant", po::value(&variant_arg)->default_value("all")->value_name("NAMES"),
      "buggy, fixed, another variant of the scenario, a comma list, or all")(
      "set", po::value(&sets)->composing()->value_name("KEY=VALUE"),
      "a parameter other than its default (repeatable)")(
      "stop", po::value(&stop.rule)->value_name("RULE"),
      "never (default), first-hit, or settled: start no more runs of an experiment once it "
      "reproduced, or once a sequential test settled it (--repeat caps)")(
      "settle", po::value(&stop.settle)->value_name("SPEC"),
      "the test of --stop settled: p0=0.02,p1=0.2,alpha=0.05,beta=0.05 (any of them)");
  add_run_options(desc, options);
  std::string fault_plan;
  add_fault_plan_option(desc, fault_plan);
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
  add_fault_plan(options.injection, fault_plan);
  StopTracker tracker = stop_tracker(stop);

  Catalog catalog = make_catalog(options);
  Sanitizer sanitizer = parse_sanitizer(options.sanitizer);
  ScenarioSpec spec = catalog.spec(id, sanitizer);
  std::vector<std::string> variants = select_variants(spec, variant_arg);
  check_injection(spec, options.injection, sanitizer);
  const Params params = run_params(spec, sets);

  if (options.out.empty()) options.out = "results/" + id + ".jsonl";
  ResultsWriter writer(options.out);
  RunSettings settings = make_settings(catalog, id, sanitizer, options);
  std::uint64_t seed = base_seed(options);
  auto plans = plan_scenario_runs(catalog, spec, variants, sanitizer, params, options.repeat, seed,
                                  options.timeout_s, options.injection);

  std::cout << fmt::format("{}: {} ({} x {} runs under {}, seeds {}..{})\n", spec.id, spec.title,
                           fmt::join(variants, ", "), options.repeat, options.sanitizer, seed,
                           seed + options.repeat - 1)
            << std::flush;
  install_interrupt_handlers();
  BatchOutcome outcome = run_under_rule(plans, settings, options.jobs, writer, tracker);
  return finish(outcome, writer, stop_notes(tracker, stop, outcome, options.repeat));
}

}  // namespace faultline::cli
