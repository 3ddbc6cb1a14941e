// The faultline command line: one function per subcommand, and the pieces `run`, `exec` and
// `sweep` share (options, run planning, interruption, the closing summary).
#pragma once

#include <atomic>
#include <boost/program_options.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness/plan/catalog.h"
#include "harness/run/batch.h"
#include "harness/run/executor.h"

namespace faultline::cli {

using Args = std::vector<std::string>;

int list(const Args& args);
int run(const Args& args);
int exec(const Args& args);
int sweep(const Args& args);
int compare(const Args& args);
int export_results(const Args& args);  // `export` is a C++ keyword
int replay(const Args& args);
int proxy(const Args& args);
int score(const Args& args);
int report(const Args& args);
int merge(const Args& args);
int shrink(const Args& args);
int emit(const Args& args);

// Set by SIGINT/SIGTERM. A second Ctrl-C kills the driver at once (its children die with it).
extern std::atomic<bool> g_stop;
void install_interrupt_handlers();

// Options every command that runs things shares.
struct RunOptions {
  std::string sanitizer = "none";
  std::uint64_t repeat = 1;
  int jobs = 1;
  double timeout_s = 60;
  std::optional<std::uint64_t> seed;
  std::string out;
  std::string build_root;
  // --scenarios: folders of scenarios built outside this tree, searched after the build root
  // (then $FAULTLINE_SCENARIO_PATH's).
  std::vector<std::string> scenario_dirs;
  std::uint64_t max_fds = 0;        // 0: inherit
  std::uint64_t max_memory_mb = 0;  // 0: no limit
  std::uint64_t max_procs = 0;      // 0: inherit
  std::uint64_t max_threads = 0;    // 0: no limit; a per-run pids cgroup (RunLimits::threads)
  Injection injection;              // --fault, --perturb, --nemesis
  bool end_at_answer = false;       // RunSettings::end_at_answer
};
// What differs between the commands that take the run options: how the default --jobs and
// --seed read in their help, and where --fault, --perturb and --nemesis go (a hidden part for
// exec, which refuses them with a reason; default: `desc`).
struct RunOptionTexts {
  const char* jobs_default = "1";
  const char* seed = "base seed (default: random, recorded); run i gets seed+i";
  boost::program_options::options_description* injection = nullptr;
};
void add_run_options(boost::program_options::options_description& desc, RunOptions& options,
                     const RunOptionTexts& texts = {});
// Checks ranges; throws UsageError.
void check_run_options(const RunOptions& options);
// Checks --fault, --perturb and --nemesis against what the scenario accepts, and the syscall and
// clock faults (which any scenario takes) against the build `sanitizer`; throws UsageError.
void check_injection(const ScenarioSpec& spec, const Injection& injection, Sanitizer sanitizer);
// Syscall and clock faults among `faults`: valid, allowed together in this build, and the shim
// or libfaketime at hand; throws UsageError.
void check_child_faults(const std::vector<std::string>& faults, Sanitizer sanitizer);
// For a program that needs the seccomp launcher, `why` (fault::seccomp_reason; exec, and replay
// of an exec run): the launcher's path when `faults` has syscall faults it can apply, "" when
// there are none; throws UsageError for a fault it cannot (clock, library calls, close with
// errno) or a missing launcher.
std::string seccomp_launcher_for(const std::vector<std::string>& faults, const std::string& why);
// --fault-plan FILE (run, exec) into `file`; `for_exec`: the help names the faults exec takes.
void add_fault_plan_option(boost::program_options::options_description& desc, std::string& file,
                           bool for_exec = false);
// Reads and checks the plan in `file` ("": none) and adds it to `injection`: whole, for the
// record, and its phases compiled into faults and nemesis actions (harness/plan/fault_plan.h).
// Throws UsageError with the plan's one-line problem.
void add_fault_plan(Injection& injection, const std::string& file);
// --scenarios DIR (repeatable) into `dirs`.
void add_scenario_dirs_option(boost::program_options::options_description& desc,
                              std::vector<std::string>& dirs);
// The catalog of --build-root (or the default) and the scenario folders of --scenarios and
// $FAULTLINE_SCENARIO_PATH; throws UsageError for a folder that does not exist.
Catalog make_catalog(const RunOptions& options);
// Settings of runs of scenario `id` in the build for `sanitizer` (its build_info.json).
RunSettings make_settings(const Catalog& catalog, const std::string& id, Sanitizer sanitizer,
                          const RunOptions& options);
// Time limit and resource limits only, for a command that is not a faultline scenario (exec).
RunSettings external_settings(const RunOptions& options);
std::uint64_t base_seed(const RunOptions& options);

// The variants named by --variant: "all", one name, or a comma-separated list.
std::vector<std::string> select_variants(const ScenarioSpec& spec, const std::string& arg);

// One plan per variant x repeat. Run i of a variant gets seed base + i (a sweep's: `seed_of(i)`,
// harness/plan/campaign.h), the same for every variant, so variants are compared on the same
// seeds.
std::vector<RunPlan> plan_scenario_runs(
    const Catalog& catalog, const ScenarioSpec& spec, const std::vector<std::string>& variants,
    Sanitizer sanitizer, const Params& params, std::uint64_t repeat, std::uint64_t seed,
    double timeout_s, const Injection& injection = {},
    const std::function<std::uint64_t(std::uint64_t)>& seed_of = {});

// The judge's outcome and reason of a run, with its symptoms where they are not the incident.
std::string run_line_detail(const Record& record);
// `s` as one word of a POSIX shell command line: as it is when it is safe, else single-quoted.
std::string shell_quote(const std::string& s);
// Whether to colour what goes to `fd`: a terminal, TERM set and not "dumb", and no NO_COLOR
// (https://no-color.org: set and not empty).
bool use_colour(int fd);
// Prints a one-line result per run as it ends, with the time left at the pace so far, to
// stderr: progress, apart from the summary on stdout (for run, exec, replay, score).
void print_run_line(const Record& record, std::size_t done, std::size_t total);

// Prints the summary, then `notes` (a stop rule's lines, say), and what happened to the records;
// returns the exit code.
int finish(const BatchOutcome& outcome, const ResultsWriter& writer,
           const std::vector<std::string>& notes = {});

// A run a campaign's sweep plans, as `faultline merge` checks the shards against it.
struct CampaignRun {
  std::string key;  // run key
  std::uint64_t seed = 0;
  std::uint64_t shard = 0;  // the shard it belongs to, of the campaign's shard_count
};
// Every run of a campaign's sweep, planned again from its definition words and base seed with
// the scenarios under `build_root` ("" for the default) and `scenario_dirs`, in the order the
// sweep plans them.
// Throws UsageError when the definition does not plan here (an unknown scenario, say).
std::vector<CampaignRun> plan_campaign(const RecordedCampaign& campaign,
                                       const std::string& build_root,
                                       const std::vector<std::string>& scenario_dirs = {});
// The definition words a sweep given `words` records (to check a campaign's words re-plan
// to themselves).
std::vector<std::string> canonical_sweep_words(const Args& words);

// A recorded run and the results file it was found in (replay, shrink).
struct FoundRun {
  Record record;
  std::filesystem::path file;
};
// Every results/*.jsonl, sorted: where replay and shrink look by default.
std::vector<std::filesystem::path> default_results_files();
// The run whose run_id is `id`, or the one run whose id starts with it (ids are long; users paste
// the start). Throws UsageError naming `command` when there is none or more than one.
FoundRun find_run(const std::string& command, const std::string& id,
                  const std::vector<std::filesystem::path>& files);
// The options a recorded run was made with: its build, faults, limits and time limit (the
// recorded one unless `timeout_s` > 0), with the scenario folder it ran from searched last.
RunOptions recorded_options(const Record& rec, const std::string& build_root,
                            const std::vector<std::string>& scenario_dirs, double timeout_s);
// The plan and settings that run a recorded run again with `options` (recorded_options, or
// those with other faults, as shrink tries them).
std::pair<RunPlan, RunSettings> replay_plan(const Record& rec, const RunOptions& options);

// How this faultline was started, as a word to begin a command the user can paste: argv[0] when
// it names a path (build/release/faultline), else "faultline" (found on PATH). Set by main.
const std::string& invoked_as();
void set_invoked_as(const std::string& argv0);

// Writes `text` next to `out` and renames it there: a file that cannot be written whole is not
// written at all (the old one, if any, stays). Throws UsageError naming the cause.
void write_whole(const std::string& out, const std::string& text);

// Parses with Boost.Program_options and turns its errors into UsageError with the command's name.
boost::program_options::variables_map parse(
    const std::string& command, const Args& args,
    const boost::program_options::options_description& desc,
    const boost::program_options::positional_options_description* positional = nullptr);
// The same for a command with operands: `operand` takes them (at most max_count, -1: any), as
// a hidden option `value` stores; --help shows `desc` without it.
boost::program_options::variables_map parse(const std::string& command, const Args& args,
                                            const boost::program_options::options_description& desc,
                                            const char* operand,
                                            const boost::program_options::value_semantic* value,
                                            int max_count);

}  // namespace faultline::cli
