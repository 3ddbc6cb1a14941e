// faultline sweep: a scenario over a grid of parameters, in parallel, resumable and shardable.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "harness/cli/cli.h"
#include "harness/judge/judge.h"
#include "harness/judge/summary.h"
#include "harness/plan/campaign.h"
#include "harness/plan/sweep.h"
#include "harness/record/experiment_key.h"
#include "harness/scenario/fault_spec.h"

namespace faultline::cli {
namespace po = boost::program_options;

namespace {

// Shows how far the sweep is, on stderr, so that stdout holds the plan and the table. On a
// terminal one line is redrawn in place (also once a second, so elapsed time moves during long
// runs); otherwise every run gets its own line, which keeps CI logs and `tee`d files readable.
// Under TERM=dumb the line is cleared with spaces, not an escape sequence.
class Progress {
 public:
  Progress(std::size_t total, bool terminal, bool dumb)
      : total_(total), terminal_(terminal), dumb_(dumb), start_(std::chrono::steady_clock::now()) {
    if (!terminal_) return;
    draw();
    ticker_ = std::thread([this] {
      std::unique_lock lock(mutex_);
      while (!stopped_) {
        wake_.wait_for(lock, std::chrono::seconds(1));
        if (!stopped_) draw_locked();
      }
    });
  }
  ~Progress() { stop(); }

  void on_record(const Record& r) {
    std::lock_guard lock(mutex_);
    ++done_;
    const Outcome outcome = judge_record(r).outcome;
    if (is_hit(outcome)) ++failed_;
    if (!is_decided(outcome)) ++unknown_;
    if (terminal_) {
      draw_locked();
      return;
    }
    std::cerr << fmt::format("{} | {} #{} seed {}: {} in {:.2f}s\n",
                             progress_text(done_, total_, failed_, unknown_, elapsed()),
                             experiment_key_of(r).label(), r.repeat_index + 1, r.seed,
                             run_line_detail(r), r.duration_s)
              << std::flush;
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
      stopped_ = true;
      if (terminal_) std::cerr << "\n" << std::flush;
    }
    wake_.notify_all();
    if (ticker_.joinable()) ticker_.join();
  }

 private:
  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  void draw() {
    std::lock_guard lock(mutex_);
    draw_locked();
  }
  void draw_locked() {
    // \r returns to the line start; \x1b[K (or spaces) clears what a longer line left.
    const std::string text = progress_text(done_, total_, failed_, unknown_, elapsed());
    const std::string clear =
        !dumb_ ? "\x1b[K" : std::string(text.size() < last_ ? last_ - text.size() : 0, ' ');
    last_ = text.size();
    std::cerr << "\r" << text << clear << std::flush;
  }

  std::size_t total_;
  bool terminal_;
  bool dumb_;
  std::size_t last_ = 0;  // length of the line drawn last
  std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread ticker_;
  bool stopped_ = false;
  std::size_t done_ = 0, failed_ = 0, unknown_ = 0;
};

// The parameters that differ between the rows of a table: the swept axes.
std::set<std::string> varying_params(const std::vector<GroupSummary>& groups) {
  std::set<std::string> varying;
  for (const auto& g : groups) {
    for (const auto& [k, v] : g.key.params) {
      auto first = groups.front().key.params.find(k);
      if (first == groups.front().key.params.end() || first->second != v) varying.insert(k);
    }
  }
  return varying;
}

// A row's point: its values of the varying parameters, then its faults and limits.
std::string row_point(const GroupSummary& g, const std::set<std::string>& varying) {
  std::vector<std::pair<std::string, std::string>> shown;
  for (const auto& [k, v] : g.key.params) {
    if (varying.count(k)) shown.emplace_back(k, v);
  }
  return (shown.empty() ? std::string("-") : key_value_text(shown)) + g.key.injection_text();
}

// "kind (runs), ...", or "-".
std::string symptom_runs_text(const GroupSummary& g) {
  std::string text;
  for (const auto& [kind, runs] : g.symptom_runs) {
    text += fmt::format("{}{} ({})", text.empty() ? "" : ", ", kind, runs);
  }
  return text.empty() ? std::string("-") : text;
}

// One row per experiment (sanitizer x point x variant), in the order of the plan (not of
// completion, which parallel runs shuffle), each judged as the run summary judges it.
std::string render_sweep_table(const std::vector<RunPlan>& plans, const RunLimits& limits,
                               const std::vector<Record>& records) {
  std::vector<ExperimentKey> order;
  for (const auto& p : plans) {
    ExperimentKey k = experiment_key(p, limits);
    if (std::find(order.begin(), order.end(), k) == order.end()) order.push_back(std::move(k));
  }
  auto groups = summarise(records);
  std::stable_sort(groups.begin(), groups.end(), [&](const GroupSummary& a, const GroupSummary& b) {
    auto pos = [&](const ExperimentKey& k) {
      return std::find(order.begin(), order.end(), k) - order.begin();
    };
    return pos(a.key) < pos(b.key);
  });
  const std::set<std::string> varying = varying_params(groups);
  auto label = [&](const GroupSummary& g) { return row_point(g, varying); };
  std::size_t params_width = 5, variant_width = 7;
  for (const auto& g : groups) {
    params_width = std::max(params_width, label(g).size());
    variant_width = std::max(variant_width, g.key.variant.size());
  }
  std::string out;
  if (!groups.empty()) {
    std::vector<std::pair<std::string, std::string>> fixed;
    for (const auto& [k, v] : groups.front().key.params) {
      if (!varying.count(k)) fixed.emplace_back(k, v);
    }
    if (!fixed.empty()) out += fmt::format("every row: {}\n", key_value_text(fixed));
  }
  out += fmt::format("{:<6} {:<{}} {:<{}} {:>8} {:>12} {:>7} {:>8}  {:<9}  {}\n", "san", "variant",
                     variant_width, "point", params_width, "incident", "95% interval", "unknown",
                     "median", "verdict", "symptoms (runs)");
  for (const auto& g : groups) {
    out += fmt::format("{:<6} {:<{}} {:<{}} {:>8} {:>12} {:>7} {:>7.2f}s  {:<9}  {}\n",
                       g.key.sanitizer, g.key.variant, variant_width, label(g), params_width,
                       fmt::format("{}/{}", g.hits, g.decided),
                       fmt::format("[{:.0f}%,{:.0f}%]", 100 * g.rate.low, 100 * g.rate.high),
                       g.unknown, g.median_duration_s, group_status_name(g.status),
                       symptom_runs_text(g));
  }
  return out;
}

// A grid axis named fault.KIND.KEY or perturb.KEY sweeps a fault's strength instead of a
// parameter: at each point the value is set in that fault (added when --fault did not name it)
// or in the --perturb spec. Returns false for a plain parameter.
bool apply_injection_axis(const std::string& kv, Injection& injection) {
  const std::size_t eq = kv.find('=');
  const std::string key = kv.substr(0, eq);
  const std::string value = eq == std::string::npos ? "" : kv.substr(eq + 1);
  auto set = [&](std::vector<std::pair<std::string, std::string>>& params, const std::string& k) {
    for (auto& [pk, pv] : params) {
      if (pk == k) {
        pv = value;
        return;
      }
    }
    params.emplace_back(k, value);
  };
  if (key.rfind("fault.", 0) == 0) {
    const std::size_t dot = key.find('.', 6);
    if (dot == std::string::npos || dot + 1 == key.size()) {
      throw UsageError(fmt::format(
          "--grid {}: name a fault's parameter as fault.KIND.KEY, e.g. fault.latency.ms=1,5,20",
          kv));
    }
    const std::string kind = key.substr(6, dot - 6);
    const std::string param = key.substr(dot + 1);
    for (auto& text : injection.faults) {
      FaultSpec fault = parse_fault_spec(text);
      if (fault.kind != kind) continue;
      set(fault.params, param);
      text = kind + ":" + key_value_text(fault.params);
      return true;
    }
    injection.faults.push_back(kind + ":" + param + "=" + value);
    return true;
  }
  if (key.rfind("perturb.", 0) == 0) {
    auto params = parse_key_values(injection.perturb, "--perturb");
    set(params, key.substr(8));
    injection.perturb = key_value_text(params);
    return true;
  }
  return false;
}

}  // namespace

namespace {

// What the command line said, before the sweep file is merged in.
struct SweepArgs {
  RunOptions options;
  std::string id;
  std::string file;
  std::string variant_arg;
  std::string shard_arg;
  std::string campaign;
  std::vector<std::string> grid_args;
  std::vector<std::string> sets;
  bool resume = false;
};

// The sweep to run: the file and the command line merged, every value checked.
struct SweepSetup {
  std::string id;
  RunOptions options;
  std::vector<GridAxis> grid;
  std::vector<std::string> sets;
  std::string variant_arg;
  std::vector<Sanitizer> sanitizers;
  Shard shard;
  std::string campaign;  // --campaign NAME
  bool resume = false;
};

// One build of the sweep: its spec, the variants to run and every grid point resolved.
struct Build {
  Sanitizer sanitizer;
  ScenarioSpec spec;
  std::vector<std::string> variants;
  std::vector<std::pair<Params, Injection>> points;
};

const char* const kSweepUsage =
    "usage: faultline sweep NAME --grid key=v1,v2 [--grid ...] [options]\n"
    "       faultline sweep --file SWEEP [options]\n\n"
    "Runs scenario NAME at every point of the grid (the cartesian product of the --grid\n"
    "values), for every variant, sanitizer and repeat, in parallel, appending one record per\n"
    "run to the results file. Repeat 0 of every point runs first, so an early stop has seen\n"
    "them all. --resume skips runs already in the file; --shard I/N runs one slice of N\n"
    "(docs/scale-out.md: shards on many machines, merged with faultline merge).\n"
    "Every run is judged against its variant's expectation; the table judges every point.\n"
    "Exit codes: 0 expectations met over the whole sweep (a variant expected to show the\n"
    "incident showed it at some point, none expected clean ever showed a symptom), 1 missed,\n"
    "2 bad input, 3 some runs unknown, 130 interrupted. See docs/sweeps.md.\n\n"
    "examples:\n"
    "  faultline sweep rpc-timeout-race --grid callers=10,100,1000 --repeat 10 --sanitizer tsan\n"
    "  faultline sweep listener-lifetime --grid connections=2,8 --out s.jsonl --resume\n"
    "  faultline sweep --file rpc.sweep --shard 2/4 --seed 7 --out shard2.jsonl\n\n"
    "options";

void add_sweep_options(po::options_description& desc, SweepArgs& a) {
  desc.add_options()("help,h", "this text")(
      "grid", po::value(&a.grid_args)->composing()->value_name("KEY=V1,V2"),
      "a parameter and the values to sweep (repeatable)")(
      "set", po::value(&a.sets)->composing()->value_name("KEY=VALUE"),
      "a parameter fixed for the whole sweep (repeatable)")(
      "variant", po::value(&a.variant_arg)->default_value("all")->value_name("NAMES"),
      "buggy, fixed, another variant, a comma list, or all")(
      "file", po::value(&a.file)->value_name("FILE"),
      "read the sweep from this file (format in docs/sweeps.md)")(
      "resume", po::bool_switch(&a.resume),
      "skip runs whose records are already in --out; the base seed is taken from them")(
      "shard", po::value(&a.shard_arg)->value_name("I/N|env"),
      "run only slice I (0-based) of N; the slices are disjoint and together the sweep. "
      "env: I and N from a Slurm job array or a Kubernetes Indexed Job")(
      "campaign", po::value(&a.campaign)->value_name("NAME"),
      "the base seed from this name, so every shard given it agrees without --seed "
      "(also FAULTLINE_CAMPAIGN; a Slurm job array's id is used when neither is given)");
  add_run_options(desc, a.options,
                  {"one per core, capped by free memory",
                   "base seed (default: from --campaign, a Slurm array, else random; recorded); "
                   "each run's seed is derived from it, its point and its repeat"});
}

// The sweep file gives the sweep; flags given on the command line win over it, and --grid adds
// axes.
SweepSetup merge_sweep(SweepArgs a, const po::variables_map& vm) {
  SweepDefinition def;
  if (!a.file.empty()) def = parse_sweep_file(a.file);
  if (!a.id.empty() && !def.scenario.empty() && a.id != def.scenario) {
    throw UsageError(fmt::format("sweep: the command line names {} but {} sweeps {}: drop one",
                                 a.id, a.file, def.scenario));
  }
  SweepSetup s;
  s.id = a.id.empty() ? def.scenario : a.id;
  if (s.id.empty()) {
    throw UsageError(
        "sweep: name a scenario, e.g. faultline sweep rpc-timeout-race --grid "
        "concurrency=10,100 (or give --file)");
  }
  s.grid = def.grid;
  std::vector<GridAxis> cli_axes;
  for (const auto& g : a.grid_args) cli_axes.push_back(parse_grid_axis(g));
  add_axes(s.grid, cli_axes);
  s.sets = def.sets;
  s.sets.insert(s.sets.end(), a.sets.begin(), a.sets.end());
  s.variant_arg = vm["variant"].defaulted() && def.variants ? *def.variants : a.variant_arg;
  s.options = std::move(a.options);
  // A sweep takes a comma list of builds (--sanitizer none,tsan): they run one after another.
  const std::string sanitizer_arg =
      vm["sanitizer"].defaulted() && def.sanitizers ? *def.sanitizers : s.options.sanitizer;
  if (vm["repeat"].defaulted() && def.repeat) s.options.repeat = *def.repeat;
  if (vm["timeout"].defaulted() && def.timeout_s) s.options.timeout_s = *def.timeout_s;
  if (vm.count("seed")) {
    s.options.seed = vm["seed"].as<std::uint64_t>();
  } else if (def.seed) {
    s.options.seed = def.seed;
  }
  s.sanitizers = parse_sanitizer_list(sanitizer_arg);
  s.resume = a.resume;
  if (a.shard_arg == "env") {
    s.shard = shard_from_env([](const char* name) { return std::getenv(name); });
  } else if (!a.shard_arg.empty()) {
    s.shard = parse_shard(a.shard_arg);
  }
  s.campaign = a.campaign;
  if (vm["jobs"].defaulted()) {
    s.options.jobs = default_sweep_jobs(s.sanitizers, std::thread::hardware_concurrency(),
                                        available_memory_bytes());
  }
  return s;
}

void check_sweep(const SweepSetup& s) {
  for (auto sanitizer : s.sanitizers) {
    RunOptions one = s.options;
    one.sanitizer = sanitizer_name(sanitizer);
    check_run_options(one);
  }
  for (const auto& axis : s.grid) {
    for (const auto& set : s.sets) {
      if (set.rfind(axis.key + "=", 0) == 0) {
        throw UsageError(fmt::format(
            "parameter '{}' is both swept (--grid) and fixed (--set): keep one", axis.key));
      }
    }
  }
  // The faults as given may lack what an axis supplies (--fault latency:jitter=2 with
  // --grid fault.latency.ms=...): their syntax is checked here, the whole fault per point.
  for (const auto& text : s.options.injection.faults) {
    try {
      (void)parse_fault_spec(text);
    } catch (const std::invalid_argument& e) {
      throw UsageError(fmt::format("--fault: {}", e.what()));
    }
  }
}

Build plan_build(const Catalog& catalog, const SweepSetup& s, Sanitizer sanitizer,
                 const std::vector<std::vector<std::string>>& points) {
  Build b{sanitizer, catalog.spec(s.id, sanitizer), {}, {}};
  b.variants = select_variants(b.spec, s.variant_arg);
  for (const auto& point : points) {
    std::vector<std::string> overrides = s.sets;
    Injection injection = s.options.injection;
    for (const auto& kv : point) {
      if (!apply_injection_axis(kv, injection)) overrides.push_back(kv);
    }
    check_injection(b.spec, injection, sanitizer);
    try {
      b.points.emplace_back(resolve_params(b.spec, overrides), std::move(injection));
    } catch (const std::invalid_argument& e) {
      throw UsageError(fmt::format("{} (faultline list {} shows them)", e.what(), s.id));
    }
  }
  return b;
}

// The sweep's definition as canonical `faultline sweep` words: what decides which runs it has,
// and nothing of where or how fast they run (--out, --jobs, --shard, --seed, --build-root).
std::vector<std::string> sweep_definition(const SweepSetup& s) {
  std::vector<std::string> sanitizers;
  for (auto z : s.sanitizers) sanitizers.emplace_back(sanitizer_name(z));
  const RunOptions& o = s.options;
  std::vector<std::string> w = {s.id,
                                "--variant",
                                s.variant_arg,
                                "--sanitizer",
                                fmt::format("{}", fmt::join(sanitizers, ",")),
                                "--repeat",
                                std::to_string(o.repeat),
                                "--timeout",
                                fmt::format("{}", o.timeout_s)};
  auto add = [&](const char* flag, const std::string& value) {
    w.push_back(flag);
    w.push_back(value);
  };
  for (const auto& axis : s.grid) {
    add("--grid", fmt::format("{}={}", axis.key, fmt::join(axis.values, ",")));
  }
  for (const auto& set : s.sets) add("--set", set);
  for (const auto& f : o.injection.faults) add("--fault", f);
  if (!o.injection.perturb.empty()) add("--perturb", o.injection.perturb);
  for (const auto& n : o.injection.nemesis) add("--nemesis", n);
  const std::pair<const char*, std::uint64_t> limits[] = {{"--max-fds", o.max_fds},
                                                          {"--max-memory-mb", o.max_memory_mb},
                                                          {"--max-procs", o.max_procs},
                                                          {"--max-threads", o.max_threads}};
  for (const auto& [flag, value] : limits) {
    if (value) add(flag, std::to_string(value));
  }
  return w;
}

// The point of a run, for its seed: its experiment key without variant and build.
std::string seed_point(const RunPlan& plan, const RunLimits& limits) {
  ExperimentKey key = experiment_key(plan, limits);
  key.variant.clear();
  key.sanitizer.clear();
  return key.id();
}

// Every run of the sweep, of this shard or (`whole`) of every shard, each seeded by
// derive_seed from the base seed.
std::vector<RunPlan> plan_sweep_runs(const Catalog& catalog, const SweepSetup& s,
                                     const std::vector<Build>& builds, const RunLimits& limits,
                                     std::uint64_t seed, bool whole = false) {
  std::vector<RunPlan> plans;
  for (const auto& b : builds) {
    for (const auto& [params, injection] : b.points) {
      const std::string point =
          seed_point(plan_scenario_runs(catalog, b.spec, {b.variants.front()}, b.sanitizer, params,
                                        1, 0, s.options.timeout_s, injection)
                         .front(),
                     limits);
      auto more = plan_scenario_runs(
          catalog, b.spec, b.variants, b.sanitizer, params, s.options.repeat, seed,
          s.options.timeout_s, injection,
          [&](std::uint64_t repeat) { return derive_seed(seed, point, repeat); });
      for (auto& p : more) {
        if (whole || in_shard(run_key(p, limits), s.shard)) plans.push_back(std::move(p));
      }
    }
  }
  return plans;
}

// The records already in the output file. A corrupt file stops a resume; without --resume
// they only feed a hint, and appending does not need them.
std::vector<Record> existing_records(const std::string& out, bool resume) {
  std::vector<Record> existing;
  std::error_code ec;
  if (std::filesystem::file_size(out, ec) == 0 || ec) return existing;
  std::vector<std::string> warnings;
  try {
    existing = read_records(out, &warnings);
  } catch (const ResultsFileError&) {
    if (resume) throw;
  }
  for (const auto& w : warnings) std::cerr << "warning: " << w << "\n";
  return existing;
}

void warn_about_existing(const SweepSetup& s, const ResumeState& state, std::uint64_t seed) {
  if (state.seed_disagreements) {
    std::cerr << fmt::format(
        "warning: {} of the runs in {} were started with another base seed than {}\n",
        state.seed_disagreements, s.options.out, seed);
  }
  if (!s.resume && !state.done_keys.empty()) {
    std::cerr << fmt::format(
        "note: {} runs of this sweep are already in {}; they will be run again (add --resume "
        "to skip them)\n",
        state.done_keys.size(), s.options.out);
  }
}

// Each build's runs with its own settings, so every record names the build it came from.
BatchOutcome run_sweep(const Catalog& catalog, const SweepSetup& s,
                       const std::vector<RunPlan>& plans, ResultsWriter& writer) {
  BatchOutcome outcome;
  install_interrupt_handlers();
  const char* term = std::getenv("TERM");
  Progress progress(plans.size(), ::isatty(STDERR_FILENO) == 1,
                    term == nullptr || std::string_view(term) == "dumb");
  for (auto sanitizer : s.sanitizers) {
    std::vector<RunPlan> group;
    for (const auto& p : plans) {
      if (p.sanitizer == sanitizer) group.push_back(p);
    }
    if (group.empty() || g_stop.load()) continue;
    BatchOutcome part = run_batch(
        group, make_settings(catalog, s.id, sanitizer, s.options), s.options.jobs, writer, &g_stop,
        [&](const Record& r, std::size_t, std::size_t) { progress.on_record(r); });
    outcome.records.insert(outcome.records.end(), part.records.begin(), part.records.end());
    outcome.dropped_in_flight += part.dropped_in_flight;
    outcome.not_started += part.not_started;
    outcome.interrupted = outcome.interrupted || part.interrupted;
  }
  progress.stop();
  if (g_stop.load()) outcome.interrupted = true;
  return outcome;
}

// The campaign every record of this sweep carries (docs/scale-out.md).
RecordedCampaign campaign_of(const SweepSetup& s, const BaseSeed& base, std::uint64_t whole_runs) {
  RecordedCampaign c{
      "", base.seed, base.from, sweep_definition(s), s.shard.index, s.shard.count, whole_runs};
  c.id = campaign_id(base.seed, c.sweep);
  return c;
}

// This shard's runs, each given the campaign, less those a resume finds done, in sweep order.
std::vector<RunPlan> runs_to_start(std::vector<RunPlan>& sweep_plans,
                                   const RecordedCampaign& campaign, const SweepSetup& s,
                                   const ResumeState& state, const RunLimits& limits) {
  std::vector<RunPlan> plans;
  for (auto& p : sweep_plans) {
    p.campaign = campaign;
    if (!s.resume || !state.done_keys.count(run_key(p, limits))) plans.push_back(p);
  }
  order_for_sweep(plans);
  return plans;
}

void print_sweep_plan(const SweepSetup& s, std::size_t points, const std::vector<Build>& builds,
                      std::size_t whole, std::size_t to_run, const BaseSeed& base,
                      const std::string& campaign, bool resuming) {
  std::cout << fmt::format(
                   "{}: {} points x {} variant(s) x {} sanitizer(s) x {} repeats = {} runs{}; "
                   "{} to run, {} at a time, base seed {} ({}), campaign {}, into {}\n",
                   s.id, points, builds.front().variants.size(), builds.size(), s.options.repeat,
                   whole,
                   s.shard.count > 1 ? fmt::format(" in shard {}/{}", s.shard.index, s.shard.count)
                                     : "",
                   to_run, s.options.jobs, base.seed, base.from, campaign, s.options.out)
            << std::flush;
  if (resuming) {
    std::cout << fmt::format("resuming: {} runs already recorded are skipped\n", whole - to_run);
  }
}

int report_interruption(const Args& args, const SweepSetup& s, const BatchOutcome& outcome,
                        std::size_t planned) {
  std::string again = invoked_as() + " sweep";
  for (const auto& a : args) again += " " + shell_quote(a);
  if (!s.resume) again += " --resume";
  std::cout << fmt::format(
      "interrupted: {} finished runs were kept, {} in flight were dropped, {} never "
      "started.\ncontinue with: {}\n",
      outcome.records.size(), outcome.dropped_in_flight,
      planned - outcome.records.size() - outcome.dropped_in_flight, again);
  return kExitInterrupted;
}

}  // namespace

namespace {

SweepSetup setup_from_words(const Args& words) {
  SweepArgs a;
  po::options_description desc("sweep");
  add_sweep_options(desc, a);
  auto vm = parse("sweep", words, desc, "name", po::value(&a.id), 1);
  SweepSetup s = merge_sweep(std::move(a), vm);
  check_sweep(s);
  return s;
}

}  // namespace

std::vector<std::string> canonical_sweep_words(const Args& words) {
  return sweep_definition(setup_from_words(words));
}

std::vector<CampaignRun> plan_campaign(const RecordedCampaign& campaign,
                                       const std::string& build_root,
                                       const std::vector<std::string>& scenario_dirs) {
  Args words = campaign.sweep;
  if (!build_root.empty()) words.insert(words.end(), {"--build-root", build_root});
  for (const auto& dir : scenario_dirs) words.insert(words.end(), {"--scenarios", dir});
  const SweepSetup s = setup_from_words(words);
  const Catalog catalog = make_catalog(s.options);
  std::vector<Build> builds;
  for (auto sanitizer : s.sanitizers) {
    builds.push_back(plan_build(catalog, s, sanitizer, expand_grid(s.grid)));
  }
  const RunLimits limits = external_settings(s.options).limits;
  std::vector<CampaignRun> runs;
  for (const auto& p : plan_sweep_runs(catalog, s, builds, limits, campaign.base_seed, true)) {
    const std::string key = run_key(p, limits);
    runs.push_back(
        {key, p.seed, stable_hash(key) % std::max<std::uint64_t>(1, campaign.shard_count)});
  }
  return runs;
}

int sweep(const Args& args) {
  SweepArgs a;
  po::options_description desc(kSweepUsage);
  add_sweep_options(desc, a);
  auto vm = parse("sweep", args, desc, "name", po::value(&a.id), 1);
  if (vm.count("help")) {
    std::cout << desc
              << "\n--jobs defaults to one run per core, capped by free memory at "
                 "512 MiB a run (asan 1.5 GiB, tsan 4 GiB).\n";
    return kExitOk;
  }
  SweepSetup s = merge_sweep(std::move(a), vm);
  check_sweep(s);

  // Every run of the whole sweep (all shards), planned once per seed decision.
  Catalog catalog = make_catalog(s.options);
  const auto points = expand_grid(s.grid);
  std::vector<Build> builds;
  for (auto sanitizer : s.sanitizers) builds.push_back(plan_build(catalog, s, sanitizer, points));
  const RunLimits limits = external_settings(s.options).limits;
  std::set<std::string> shard_keys;
  std::uint64_t whole_runs = 0;
  for (const auto& p : plan_sweep_runs(catalog, s, builds, limits, 0, true)) {
    ++whole_runs;
    if (in_shard(run_key(p, limits), s.shard)) shard_keys.insert(run_key(p, limits));
  }

  if (s.options.out.empty()) s.options.out = default_sweep_out(s.id, s.shard);
  ResultsWriter writer(s.options.out);  // cuts a torn last line before we read the file
  const ResumeState state = scan_for_resume(existing_records(s.options.out, s.resume), shard_keys);
  const BaseSeed base = choose_base_seed(
      {s.resume, state.base_seed, s.options.seed, s.campaign, s.shard, s.options.out},
      [](const char* name) { return std::getenv(name); }, [&] { return base_seed(s.options); });
  const std::uint64_t seed = base.seed;
  warn_about_existing(s, state, seed);

  std::vector<RunPlan> sweep_plans = plan_sweep_runs(catalog, s, builds, limits, seed);
  const RecordedCampaign campaign = campaign_of(s, base, whole_runs);
  const std::vector<RunPlan> plans = runs_to_start(sweep_plans, campaign, s, state, limits);
  print_sweep_plan(s, points.size(), builds, shard_keys.size(), plans.size(), base, campaign.id,
                   s.resume && !state.done_keys.empty());

  // The sweep's records: those already in the file (when resuming) and the new ones.
  std::vector<Record> records = s.resume ? state.records : std::vector<Record>{};
  BatchOutcome outcome;
  if (plans.empty()) {
    std::cout << "nothing left to run: every run of this sweep is in " << s.options.out << "\n";
  } else {
    outcome = run_sweep(catalog, s, plans, writer);
  }
  records.insert(records.end(), outcome.records.begin(), outcome.records.end());
  if (!records.empty()) std::cout << "\n" << render_sweep_table(sweep_plans, limits, records);
  std::cout << fmt::format("{} new record{} appended to {}\n", outcome.records.size(),
                           outcome.records.size() == 1 ? "" : "s", s.options.out);
  if (writer.repaired_bytes() > 0) {
    std::cout << fmt::format(
        "(its torn last line, {} bytes from a driver that died mid-write, was cut off first)\n",
        writer.repaired_bytes());
  }
  if (outcome.interrupted) return report_interruption(args, s, outcome, plans.size());
  return records.empty() ? kExitOk : sweep_exit_code(summarise(records));
}

}  // namespace faultline::cli
