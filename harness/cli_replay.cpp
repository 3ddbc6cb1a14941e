// faultline replay RUN_ID: finds a run's record and runs it again exactly (scenario, variant,
// sanitizer, parameters, seed, faults, limits, time limit), then says whether the verdict
// matched.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "harness/cli.h"
#include "harness/judge.h"
#include "harness/results_file.h"
#include "harness/summary.h"

namespace faultline::cli {
namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

struct Found {
  nlohmann::json record;
  fs::path file;
};

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

// Exact run id, or a prefix of exactly one run id (ids are long; users paste the start).
Found find_record(const std::string& id, const std::vector<fs::path>& files) {
  std::vector<Found> matches;
  for (const auto& file : files) {
    for (auto& record : read_records(file)) {
      const auto& run_id = record["run_id"].get_ref<const std::string&>();
      if (run_id == id) return {std::move(record), file};
      if (run_id.rfind(id, 0) == 0) matches.push_back({std::move(record), file});
    }
  }
  if (matches.size() == 1) return matches.front();
  std::string where = files.empty() ? std::string("no results files under results/")
                                    : fmt::format("{} results file(s)", files.size());
  if (matches.empty()) {
    throw UsageError(
        fmt::format("replay: no run with id '{}' in {}: pass the file with --results FILE "
                    "(run ids are in each record's run_id)",
                    id, where));
  }
  throw UsageError(
      fmt::format("replay: '{}' is the start of {} run ids: give more of it", id, matches.size()));
}

std::vector<std::string> strings_of(const nlohmann::json& j) {
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& v : j) {
    if (v.is_string()) {
      out.push_back(v.get<std::string>());
    } else if (v.is_object() && v.contains("spec")) {
      out.push_back(v["spec"].get<std::string>());  // faults are recorded parsed, with the text
    }
  }
  return out;
}

std::string symptom_kinds(const nlohmann::json& record) {
  std::vector<std::string> kinds;
  for (const auto& s : record["symptoms"]) {
    std::string k = s["kind"].get<std::string>();
    if (std::find(kinds.begin(), kinds.end(), k) == kinds.end()) kinds.push_back(k);
  }
  return kinds.empty() ? "none" : fmt::format("{}", fmt::join(kinds, ", "));
}

}  // namespace

int replay(const Args& args) {
  std::string id;
  std::vector<std::string> results;
  std::string build_root;
  std::string out;
  double timeout_s = 0;
  po::options_description desc(
      "usage: faultline replay RUN_ID [options]\n\n"
      "Runs a recorded run again exactly: the same scenario, variant, sanitizer build,\n"
      "parameters, seed, faults (--fault, --perturb, --nemesis), resource limits and time limit.\n"
      "The new record is appended to the results file with the same run key, and the verdicts are\n"
      "compared. RUN_ID is a record's run_id, or the start of one. A race is a matter of timing:\n"
      "the same seed makes the same choices, not the same interleaving, so a mismatch is a\n"
      "finding about how reliable the reproduction is. Exit codes: 0 the verdict matched, 1 it\n"
      "did not, 2 bad input, 3 the replay ended unknown, 130 interrupted.\n\noptions");
  desc.add_options()("help,h", "this text")(
      "results", po::value(&results)->composing(),
      "results file(s) to look in (repeatable; default: every results/*.jsonl)")(
      "build-root", po::value(&build_root),
      "folder holding the preset builds (default: the one this faultline was built in)")(
      "out", po::value(&out), "results file for the new record (default: the record's own file)")(
      "timeout", po::value(&timeout_s), "seconds (default: the recorded run's time limit)");
  po::options_description hidden;
  hidden.add_options()("id", po::value(&id));
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description positional;
  positional.add("id", 1);
  auto vm = parse("replay", args, all, &positional);
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
  Found found = find_record(id, files);
  const nlohmann::json& rec = found.record;

  RunOptions options;
  options.build_root = build_root;
  options.sanitizer = rec["sanitizer"].get<std::string>();
  const nlohmann::json limits = rec.value("limits", nlohmann::json::object());
  options.timeout_s = timeout_s > 0 ? timeout_s : limits.value("timeout_s", 60.0);
  options.max_fds = limits.value("open_files", std::uint64_t{0});
  options.max_memory_mb = limits.value("address_space_bytes", std::uint64_t{0}) >> 20;
  options.max_procs = limits.value("processes", std::uint64_t{0});
  options.max_threads = limits.value("threads", std::uint64_t{0});
  options.injection.faults = strings_of(rec.value("faults", nlohmann::json::array()));
  if (rec.contains("perturb") && rec["perturb"].is_string()) {
    options.injection.perturb = rec["perturb"].get<std::string>();
  }
  options.injection.nemesis = strings_of(rec.value("nemesis", nlohmann::json::array()));
  check_run_options(options);
  Sanitizer sanitizer = parse_sanitizer(options.sanitizer);
  const std::uint64_t seed = rec["seed"].get<std::uint64_t>();
  const std::string scenario = rec["scenario"].get<std::string>();
  const std::string variant = rec["variant"].get<std::string>();
  const bool external =
      rec.value("build", nlohmann::json::object()).value("preset", "") == std::string("external");

  RunPlan plan;
  RunSettings settings;
  if (external) {
    // A run of `faultline exec`: the command itself is the whole description.
    plan.scenario = scenario;
    plan.variant = variant;
    plan.sanitizer = sanitizer;
    plan.seed = seed;
    plan.repeat_index = rec["repeat_index"].get<std::uint64_t>();
    plan.argv = rec["command"].get<std::vector<std::string>>();
    plan.scenario_protocol = false;
    plan.replay = rec.value("replay", "");
    plan.expectation = expectation_of_record(rec);
    settings = external_settings(options);
  } else {
    Catalog catalog = make_catalog(options);
    ScenarioSpec spec = catalog.spec(scenario, sanitizer);
    (void)select_variants(spec, variant);
    check_injection(spec, options.injection);
    std::vector<std::string> sets;
    for (const auto& [k, v] : rec["params"].items()) sets.push_back(k + "=" + v.get<std::string>());
    Params params;
    try {
      params = resolve_params(spec, sets);
    } catch (const std::invalid_argument& e) {
      throw UsageError(fmt::format(
          "replay: the recorded parameters no longer fit {}: {} (was the scenario changed since "
          "the run?)",
          scenario, e.what()));
    }
    auto plans = plan_scenario_runs(catalog, spec, {variant}, sanitizer, params, 1, seed,
                                    options.timeout_s, options.injection);
    plan = std::move(plans.front());
    plan.repeat_index = rec["repeat_index"].get<std::uint64_t>();
    settings = make_settings(catalog, sanitizer, options);
    const std::string was = rec["build"].value("git_revision", "");
    const std::string now = settings.build.value("git_revision", "");
    if (!was.empty() && !now.empty() && was != now) {
      std::cout << fmt::format("note: the run was recorded at revision {}, this build is {}\n",
                               was.substr(0, 12), now.substr(0, 12));
    }
  }

  if (out.empty()) out = found.file.string();
  ResultsWriter writer(out);
  // Both runs are judged against the recorded run's expectation, by the one judge.
  const Expectation expectation = expectation_of_record(rec);
  const std::string was_verdict(outcome_name(judge(facts_of(rec), expectation).outcome));
  std::cout << fmt::format("replaying {} from {}: {} {} under {}, seed {} (was {}: {})\n",
                           rec["run_id"].get<std::string>(), found.file.string(), scenario, variant,
                           options.sanitizer, seed, was_verdict, symptom_kinds(rec))
            << std::flush;
  install_interrupt_handlers();
  BatchOutcome outcome = run_batch({plan}, settings, 1, writer, &g_stop, print_run_line);
  if (outcome.records.empty()) {
    std::cout << "replay interrupted: no record kept\n";
    return kExitInterrupted;
  }
  const nlohmann::json& now = outcome.records.front();
  const Judgement judged = judge(facts_of(now), expectation);
  const std::string verdict(outcome_name(judged.outcome));
  std::cout << fmt::format("replay {} -> {}: verdict {} (recorded {}), symptoms {} (recorded {})\n",
                           rec["run_id"].get<std::string>(), now["run_id"].get<std::string>(),
                           verdict, was_verdict, symptom_kinds(now), symptom_kinds(rec));
  std::cout << fmt::format("record appended to {}\n", out);
  if (verdict == "unknown") {
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

}  // namespace faultline::cli
