// faultline replay RUN_ID: finds a run's record and runs it again exactly (scenario, variant,
// sanitizer, parameters, seed, faults, limits, time limit), then says whether the verdict
// matched.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "harness/cli/cli.h"
#include "harness/fault/child_faults.h"
#include "harness/judge/judge.h"
#include "harness/judge/summary.h"
#include "harness/record/results_file.h"

namespace faultline::cli {
namespace po = boost::program_options;
namespace fs = std::filesystem;

std::vector<fs::path> default_results_files() {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("results", ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".jsonl") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

FoundRun find_run(const std::string& command, const std::string& id,
                  const std::vector<fs::path>& files) {
  std::vector<FoundRun> matches;
  for (const auto& file : files) {
    for (auto& record : read_records(file)) {
      const std::string& run_id = record.run_id;
      if (run_id == id) return {std::move(record), file};
      if (run_id.rfind(id, 0) == 0) matches.push_back({std::move(record), file});
    }
  }
  if (matches.size() == 1) return matches.front();
  std::string where = files.empty() ? std::string("no results files under results/")
                                    : fmt::format("{} results file(s)", files.size());
  if (matches.empty()) {
    throw UsageError(
        fmt::format("{}: no run with id '{}' in {}: pass the file with --results FILE "
                    "(run ids are in each record's run_id)",
                    command, id, where));
  }
  throw UsageError(fmt::format("{}: '{}' is the start of {} run ids: give more of it", command, id,
                               matches.size()));
}

RunOptions recorded_options(const Record& rec, const std::string& build_root,
                            const std::vector<std::string>& scenario_dirs, double timeout_s) {
  RunOptions options;
  options.build_root = build_root;
  options.scenario_dirs = scenario_dirs;
  // A scenario of a scenario folder is found again in the folder it ran from (a record's
  // build_dir is <folder>/<preset>), searched after the ones given.
  const fs::path recorded = fs::path(rec.build_field("build_dir")).parent_path();
  std::error_code ec;
  if (!recorded.empty() &&
      fs::exists(recorded / preset_of(parse_sanitizer(rec.sanitizer)) / "scenarios" / rec.scenario,
                 ec)) {
    options.scenario_dirs.push_back(recorded.string());
  }
  options.sanitizer = rec.sanitizer;
  options.timeout_s = timeout_s > 0 ? timeout_s : rec.limits.timeout_s;
  options.max_fds = rec.limits.open_files.value_or(0);
  options.max_memory_mb = rec.limits.address_space_bytes.value_or(0) >> 20;
  options.max_procs = rec.limits.processes.value_or(0);
  options.max_threads = rec.limits.threads.value_or(0);
  for (const auto& f : rec.faults) options.injection.faults.push_back(f.spec);
  options.injection.perturb = rec.perturb;
  options.injection.nemesis = rec.nemesis;
  options.injection.fault_plan = rec.fault_plan;  // its phases are in faults and nemesis
  check_run_options(options);
  return options;
}

namespace {

std::string symptom_kinds(const Record& record) {
  const auto kinds = record.symptom_kinds();
  return kinds.empty() ? "none" : fmt::format("{}", fmt::join(kinds, ", "));
}

// A run of `faultline exec`: the command itself is the whole description.
RunPlan external_plan(const Record& rec, Sanitizer sanitizer, const Injection& injection) {
  RunPlan plan;
  plan.scenario = rec.scenario;
  plan.variant = rec.variant;
  plan.sanitizer = sanitizer;
  plan.seed = rec.seed;
  plan.repeat_index = rec.repeat_index;
  plan.argv = rec.command;
  // A static program ran under the seccomp launcher: under this build's launcher again, for the
  // faults given now (shrink takes some away; with no syscall fault left, the program alone).
  if (plan.argv.size() > 2 && fault::is_seccomp_launcher(plan.argv.front()) &&
      plan.argv[1] == "--") {
    const std::string launcher =
        seccomp_launcher_for(injection.faults, plan.argv[2] + " ran under the seccomp launcher");
    if (launcher.empty()) {
      plan.argv.erase(plan.argv.begin(), plan.argv.begin() + 2);
    } else {
      plan.argv.front() = launcher;
    }
  }
  plan.cwd = rec.cwd;
  plan.fail_exit = rec.fail_exit;
  plan.fail_output = rec.fail_output;
  plan.injection = injection;  // the recorded faults, or those shrink tries
  plan.scenario_protocol = false;
  plan.replay = rec.replay;
  plan.expectation = rec.expectation;
  return plan;
}

// A scenario run: planned again from the catalog, with the recorded parameters and seed.
RunPlan scenario_plan(const Record& rec, const Catalog& catalog, Sanitizer sanitizer,
                      const RunOptions& options) {
  ScenarioSpec spec = catalog.spec(rec.scenario, sanitizer);
  (void)select_variants(spec, rec.variant);
  check_injection(spec, options.injection, sanitizer);
  std::vector<std::string> sets;
  for (const auto& [k, v] : rec.params) sets.push_back(k + "=" + v);
  Params params;
  try {
    params = resolve_params(spec, sets);
  } catch (const std::invalid_argument& e) {
    throw UsageError(fmt::format(
        "replay: the recorded parameters no longer fit {}: {} (was the scenario changed since "
        "the run?)",
        rec.scenario, e.what()));
  }
  auto plans = plan_scenario_runs(catalog, spec, {rec.variant}, sanitizer, params, 1, rec.seed,
                                  options.timeout_s, options.injection);
  RunPlan plan = std::move(plans.front());
  plan.repeat_index = rec.repeat_index;
  return plan;
}

}  // namespace

// The plan and settings that run the recorded run again.
std::pair<RunPlan, RunSettings> replay_plan(const Record& rec, const RunOptions& options) {
  const Sanitizer sanitizer = parse_sanitizer(options.sanitizer);
  if (rec.build_field("preset") == "external") {
    check_child_faults(options.injection.faults, sanitizer);
    return {external_plan(rec, sanitizer, options.injection), external_settings(options)};
  }
  Catalog catalog = make_catalog(options);
  RunPlan plan = scenario_plan(rec, catalog, sanitizer, options);
  RunSettings settings = make_settings(catalog, rec.scenario, sanitizer, options);
  return {std::move(plan), std::move(settings)};
}

namespace {

// The command the replay runs, shell-quoted. A results file is data anyone may hand over: the
// command of an exec record is run only when the user says so (--yes); a scenario's command is
// planned again from this build's binaries.
std::string command_to_run(const RunPlan& plan, const Record& rec, bool yes) {
  std::vector<std::string> words;
  for (const auto& w : plan.argv) words.push_back(shell_quote(w));
  const std::string command = fmt::format("{}", fmt::join(words, " "));
  if (!plan.scenario_protocol && !yes) {
    throw UsageError(
        fmt::format("replay: {} runs a command of its own: {} -- read it, and run "
                    "{} replay {} --yes to run it",
                    rec.run_id, command, invoked_as(), rec.run_id));
  }
  return command;
}

// Both runs judged against the recorded run's expectation, by the one judge.
int report_replay(const Record& rec, const Record& now, const std::string& was_verdict,
                  const std::string& out) {
  const Judgement judged = judge(facts_of(now), rec.expectation);
  const std::string verdict(outcome_name(judged.outcome));
  std::cout << fmt::format("replay {} -> {}: verdict {} (recorded {}), symptoms {} (recorded {})\n",
                           rec.run_id, now.run_id, verdict, was_verdict, symptom_kinds(now),
                           symptom_kinds(rec));
  std::cout << fmt::format("record appended to {}\n", out);
  if (judged.outcome == Outcome::kUnknown) {
    std::cout << "replay ended unknown: " << judged.reason << "\n";
    return kExitUnknownRuns;
  }
  if (verdict != was_verdict) {
    std::cout << "verdict differs\n";
    return kExitExpectationMissed;
  }
  std::cout << "verdict matched\n";
  return kExitOk;
}

const char* const kReplayUsage =
    "usage: faultline replay RUN_ID [options]\n\n"
    "Runs a recorded run again exactly: the same scenario, variant, sanitizer build,\n"
    "parameters, seed, faults (--fault, --perturb, --nemesis), resource limits and time limit.\n"
    "The new record is appended to the results file with the same run key, and the verdicts are\n"
    "compared. RUN_ID is a record's run_id, or the start of one. A race is a matter of timing:\n"
    "the same seed makes the same choices, not the same interleaving, so a mismatch is a\n"
    "finding about how reliable the reproduction is. A run of `faultline exec` stores a command\n"
    "of its own: replay shows it and runs it only with --yes. Exit codes: 0 the verdict\n"
    "matched, 1 it did not, 2 bad input, 3 the replay ended unknown, 130 interrupted.\n\n"
    "examples:\n"
    "  faultline replay 20261123T105809Z-fa75e447\n"
    "  faultline replay 20261123T105809Z --results results/w16.jsonl --out replays.jsonl\n\n"
    "options";

}  // namespace

int replay(const Args& args) {
  std::string id;
  std::vector<std::string> results;
  std::string build_root;
  std::string out;
  double timeout_s = 0;
  po::options_description desc(kReplayUsage);
  desc.add_options()("help,h", "this text")(
      "results", po::value(&results)->composing(),
      "results file(s) to look in (repeatable; default: every results/*.jsonl)")(
      "build-root", po::value(&build_root)->value_name("DIR"),
      "folder holding the preset builds (default: the one this faultline was built in)")(
      "out", po::value(&out), "results file for the new record (default: the record's own file)")(
      "timeout", po::value(&timeout_s), "seconds (default: the recorded run's time limit)")(
      "yes", "run the command an exec record stores (replay shows it and stops without this)");
  std::vector<std::string> scenario_dirs;
  add_scenario_dirs_option(desc, scenario_dirs);
  auto vm = parse("replay", args, desc, "id", po::value(&id), 1);
  if (vm.count("help")) {
    std::cout << desc;
    return kExitOk;
  }
  if (id.empty()) {
    throw UsageError(
        "replay: give a run id, e.g. faultline replay 20261123T101643Z-5793b08f (each record's "
        "run_id)");
  }
  std::vector<fs::path> files(results.begin(), results.end());
  for (const auto& f : files) {
    if (!fs::exists(f)) {
      throw UsageError(fmt::format("replay: results file {} does not exist", f.string()));
    }
  }
  if (files.empty()) files = default_results_files();
  FoundRun found = find_run("replay", id, files);
  const Record& rec = found.record;
  const RunOptions options = recorded_options(rec, build_root, scenario_dirs, timeout_s);
  auto [plan, settings] = replay_plan(rec, options);
  const std::string was = rec.build_field("git_revision");
  const std::string now = settings.build.value("git_revision", "");
  if (!was.empty() && !now.empty() && was != now) {
    std::cout << fmt::format("note: the run was recorded at revision {}, this build is {}\n",
                             was.substr(0, 12), now.substr(0, 12));
  }
  const std::string command = command_to_run(plan, rec, vm.count("yes") > 0);
  if (out.empty()) out = found.file.string();
  ResultsWriter writer(out);
  const std::string was_verdict(outcome_name(judge(facts_of(rec), rec.expectation).outcome));
  std::cout << fmt::format("replaying {} from {}: {} {} under {}, seed {} (was {}: {})\n  {}\n",
                           rec.run_id, found.file.string(), rec.scenario, rec.variant,
                           options.sanitizer, rec.seed, was_verdict, symptom_kinds(rec), command)
            << std::flush;
  install_interrupt_handlers();
  BatchOutcome outcome = run_batch({plan}, settings, 1, writer, &g_stop, print_run_line);
  if (outcome.records.empty()) {
    std::cout << "replay interrupted: no record kept\n";
    return kExitInterrupted;
  }
  return report_replay(rec, outcome.records.front(), was_verdict, out);
}

}  // namespace faultline::cli
