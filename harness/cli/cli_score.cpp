// faultline score: the detector matrix (harness/judge/score.h), from new runs or from result files.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "harness/cli/cli.h"
#include "harness/judge/score.h"
#include "harness/judge/summary.h"
#include "harness/plan/sweep.h"
#include "harness/record/experiment_key.h"

namespace faultline::cli {
namespace po = boost::program_options;

namespace {

struct ScoreOptions {
  std::vector<std::string> scenarios;
  std::string sanitizers = "none,tsan,asan";
  std::vector<std::string> from;
  std::string format = "table";
  bool resume = false;
};

std::string render(const std::vector<ScoreCell>& cells, const std::string& format) {
  if (format == "csv") return render_score_csv(cells);
  if (format == "markdown") return render_score_markdown(cells);
  return render_score_table(cells);
}

// Every variant of every scenario under every build, `repeat` runs each, minus what --resume
// finds already recorded. Run i of every variant gets seed base + i.
std::vector<RunPlan> plan_matrix(const Catalog& catalog, const ScoreOptions& so,
                                 const RunOptions& options, std::uint64_t seed) {
  std::vector<RunPlan> plans;
  for (auto sanitizer : parse_sanitizer_list(so.sanitizers)) {
    for (const auto& id : so.scenarios) {
      ScenarioSpec spec = catalog.spec(id, sanitizer);
      auto more =
          plan_scenario_runs(catalog, spec, spec.variants, sanitizer, resolve_params(spec, {}),
                             options.repeat, seed, options.timeout_s);
      plans.insert(plans.end(), std::make_move_iterator(more.begin()),
                   std::make_move_iterator(more.end()));
    }
  }
  return plans;
}

std::vector<Record> read_all(const std::vector<std::string>& files) {
  std::vector<Record> records;
  std::vector<std::string> warnings;
  for (const auto& f : files) {
    auto more = read_records(f, &warnings);
    records.insert(records.end(), more.begin(), more.end());
  }
  for (const auto& w : warnings) std::cerr << "warning: " << w << "\n";
  return records;
}

int score_from_files(const ScoreOptions& so) {
  if (!so.scenarios.empty() || so.resume) {
    throw UsageError("score --from reads results files: name no scenario and no --resume");
  }
  auto cells = score_records(read_all(so.from));
  if (cells.empty()) {
    throw UsageError(
        "score: no record in those files has an expectation to score against "
        "(records of schema 1 have none)");
  }
  std::cout << render(cells, so.format);
  return kExitOk;
}

// The runs still to do: every run of the matrix, minus those --resume finds in --out, whose
// base seed it reuses.
struct Campaign {
  std::vector<RunPlan> plans;
  ResumeState done;
  std::uint64_t seed = 0;
};

Campaign plan_campaign(const Catalog& catalog, const ScoreOptions& so, const RunOptions& options) {
  Campaign c;
  std::vector<Record> existing;
  std::error_code ec;
  if (so.resume && std::filesystem::file_size(options.out, ec) > 0 && !ec) {
    existing = read_all({options.out});
  }
  const RunLimits limits = external_settings(options).limits;
  std::set<std::string> all_keys;
  for (const auto& p : plan_matrix(catalog, so, options, 0)) all_keys.insert(run_key(p, limits));
  c.done = scan_for_resume(existing, all_keys);
  c.seed = c.done.base_seed ? *c.done.base_seed : base_seed(options);
  for (auto& p : plan_matrix(catalog, so, options, c.seed)) {
    if (!c.done.done_keys.count(run_key(p, limits))) c.plans.push_back(std::move(p));
  }
  return c;
}

// Runs the campaign build by build (each run records its own build), appending as runs end.
// Returns every record of the matrix, those found by --resume included.
std::vector<Record> run_campaign(const Catalog& catalog, const ScoreOptions& so,
                                 const RunOptions& options, const Campaign& c,
                                 ResultsWriter& writer) {
  std::vector<Record> records = c.done.records;
  install_interrupt_handlers();
  for (auto s : parse_sanitizer_list(so.sanitizers)) {
    // One batch per build folder (the build root's, or a scenario folder's), whose build_info
    // its records carry.
    std::map<std::filesystem::path, std::vector<RunPlan>> groups;
    for (const auto& p : c.plans) {
      if (p.sanitizer == s) groups[catalog.preset_dir(p.scenario, s)].push_back(p);
    }
    for (const auto& [dir, group] : groups) {
      if (g_stop.load()) break;
      BatchOutcome part =
          run_batch(group, make_settings(catalog, group.front().scenario, s, options), options.jobs,
                    writer, &g_stop, print_run_line);
      records.insert(records.end(), part.records.begin(), part.records.end());
    }
  }
  return records;
}

const char* const kScoreUsage =
    "usage: faultline score [SCENARIO...] [options]\n"
    "       faultline score --from FILE [--from FILE...] [options]\n\n"
    "The detector matrix: runs every variant of each scenario (default: every one built) under\n"
    "each build (--sanitizer none,tsan,asan), --repeat times, and prints per incident and\n"
    "detector the true and false positives and negatives, recall, precision, and the median\n"
    "runs and time to the first detection. Ground truth is each run's expectation (a variant\n"
    "expected to show the incident is a positive, one expected clean a negative), and the\n"
    "judge decides what the detector saw. --from reads result files instead of running.\n"
    "Every run is appended to --out as it ends, so --resume continues a campaign that was\n"
    "stopped. Exit codes: 0 the matrix was printed, 2 bad input, 130 interrupted.\n\n"
    "examples:\n"
    "  faultline score --repeat 20 --out results/score.jsonl\n"
    "  faultline score catchall-fatal --sanitizer none,tsan --repeat 10\n"
    "  faultline score --from results/score.jsonl --format markdown\n\n"
    "options";

void add_score_options(po::options_description& desc, ScoreOptions& so, RunOptions& options) {
  desc.add_options()("help,h", "this text")("from", po::value(&so.from)->composing(),
                                            "score the records of this results file "
                                            "(repeatable) instead of running")(
      "format", po::value(&so.format)->default_value("table"), "table, csv or markdown")(
      "resume", po::bool_switch(&so.resume), "skip runs already recorded in --out");
  add_run_options(desc, options);
}

// A campaign's defaults (every build, 20 runs) where the command line left them.
void campaign_defaults(const po::variables_map& vm, ScoreOptions& so, RunOptions& options) {
  if (!vm["sanitizer"].defaulted()) so.sanitizers = options.sanitizer;
  if (vm["repeat"].defaulted()) options.repeat = 20;
  if (vm.count("seed")) options.seed = vm["seed"].as<std::uint64_t>();
  for (auto s : parse_sanitizer_list(so.sanitizers)) {
    RunOptions one = options;
    one.sanitizer = sanitizer_name(s);
    check_run_options(one);
  }
  if (options.out.empty()) options.out = "results/score.jsonl";
}

}  // namespace

int score(const Args& args) {
  RunOptions options;
  ScoreOptions so;
  po::options_description desc(kScoreUsage);
  add_score_options(desc, so, options);
  auto vm = parse("score", args, desc, "scenario", po::value(&so.scenarios)->composing(), -1);
  if (vm.count("help")) {
    std::cout << desc;
    return kExitOk;
  }
  if (so.format != "table" && so.format != "csv" && so.format != "markdown") {
    throw UsageError(
        fmt::format("--format '{}' is not known: use table, csv or markdown", so.format));
  }
  if (!so.from.empty()) return score_from_files(so);
  campaign_defaults(vm, so, options);
  Catalog catalog = make_catalog(options);
  if (so.scenarios.empty()) so.scenarios = catalog.ids();
  if (so.scenarios.empty()) {
    throw UsageError(
        fmt::format("score: no scenario is built under {}: build with "
                    "scripts/build.sh release tsan asan",
                    catalog.build_root().string()));
  }
  std::error_code ec;
  if (!so.resume && std::filesystem::file_size(options.out, ec) > 0 && !ec) {
    // The matrix printed here counts this campaign's runs; --from the file would count all.
    std::cerr << fmt::format(
        "note: {} already holds runs; this campaign's are appended after them (add --resume to "
        "continue that campaign instead, or choose another --out)\n",
        options.out);
  }
  ResultsWriter writer(options.out);
  const Campaign campaign = plan_campaign(catalog, so, options);
  const std::size_t done = campaign.done.done_keys.size();
  std::cout << fmt::format(
                   "score: {} scenario(s) x builds {} x every variant x {} runs; {} to run{}, base "
                   "seed {}, into {}\n",
                   so.scenarios.size(), so.sanitizers, options.repeat, campaign.plans.size(),
                   done ? fmt::format(" ({} already recorded)", done) : "", campaign.seed,
                   options.out)
            << std::flush;
  auto records = run_campaign(catalog, so, options, campaign, writer);
  std::cout << "\n" << render(score_records(records), so.format);
  std::cout << fmt::format("{} records in {}\n", records.size(), options.out);
  if (g_stop.load()) {
    std::cout << "interrupted: the matrix above counts the finished runs; continue with --resume\n";
    return kExitInterrupted;
  }
  return kExitOk;
}

}  // namespace faultline::cli
