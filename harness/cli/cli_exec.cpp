#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <regex>

#include "harness/cli/cli.h"
#include "harness/fault/child_faults.h"
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

struct ExecArgs {
  RunOptions options;
  std::string name;
  std::string variant;
  std::vector<std::string> expect;
  std::vector<std::string> reach;
  std::vector<std::string> observes;
  std::vector<int> fail_exit;
  std::vector<std::string> fail_output;
  std::string cwd;
  bool implied_expect = false;  // --expect came from --fail-exit / --fail-output
  std::string fault_plan;       // --fault-plan FILE: its syscall (and clock) phases
};

const char* const kExecUsage =
    "usage: faultline exec [options] -- COMMAND [ARGS...]\n\n"
    "Runs any command with the same runner, report parsers and records as a scenario, so a\n"
    "reproduction written in any language gets the same treatment. The command finds the path\n"
    "of its report channel in $FAULTLINE_REPORT (docs/report-protocol.md) and its seed in\n"
    "$FAULTLINE_SEED. Every run is judged against --expect: the incident (a symptom kind,\n"
    "optionally narrowed to a frame, KIND:FUNCTION; repeat it for any-of) or clean. Without\n"
    "--expect nothing is judged: runs are recorded and summarised, and only unknown runs\n"
    "change the exit code. A variant's name sets no expectation. A reproduction that only\n"
    "exits or prints: --fail-exit CODE or --fail-output REGEX make that the symptom (exit_code,\n"
    "output_match), and without --expect they are the incident expected. `faultline emit`\n"
    "reports an observation or a metric from a shell (docs/exec.md).\n\n"
    "examples:\n"
    "  faultline exec --repeat 20 --fail-exit 1 -- python3 race.py\n"
    "  faultline exec --expect lost_update --observes lost_update -- ./race.sh\n"
    "  faultline exec --sanitizer none --expect data_race --repeat 50 -- ./repro-race\n\noptions";

void add_exec_options(po::options_description& desc, po::options_description& hidden, ExecArgs& a) {
  desc.add_options()("help,h", "this text")(
      "name", po::value(&a.name), "label recorded as the scenario (default: the command's name)")(
      "variant", po::value(&a.variant)->default_value("exec"), "label recorded as the variant")(
      "expect", po::value(&a.expect)->composing(),
      "KIND[:FRAME] the incident looks like (repeatable: any one of them), or clean")(
      "reach", po::value(&a.reach)->composing(),
      "METRIC>N: a metric the command reports that shows it entered the race window "
      "(repeatable: any one); a run with no symptom that meets none is unknown")(
      "observes", po::value(&a.observes)->composing(),
      "a symptom kind the command reports itself as an observation (repeatable), so --expect "
      "may name it")(
      "fail-exit", po::value(&a.fail_exit)->composing()->value_name("CODE"),
      "an exit code that means the incident happened: symptom exit_code (repeatable)")(
      "fail-output", po::value(&a.fail_output)->composing()->value_name("REGEX"),
      "a line of stdout or stderr matching this (ECMAScript) means the incident happened: "
      "symptom output_match (repeatable)")(
      "cwd", po::value(&a.cwd)->value_name("DIR"),
      "run the command in this folder (default: the current one; recorded, and used by replay)");
  // --fault, --perturb and --nemesis are read only to refuse them with the reason.
  add_run_options(desc, a.options,
                  {"1", "base seed (default: random, recorded); run i gets seed+i", &hidden});
  add_fault_plan_option(desc, a.fault_plan, /*for_exec=*/true);
}

// The faultline command line that runs repeat `seed` of the command again.
std::string exec_replay(const ExecArgs& a, const std::vector<std::string>& command,
                        std::uint64_t seed) {
  std::string flags;
  for (const auto& e : a.expect) flags += " --expect " + shell_quote(e);
  for (const auto& r : a.reach) flags += " --reach " + shell_quote(r);
  for (const auto& k : a.observes) flags += " --observes " + shell_quote(k);
  for (int code : a.fail_exit) flags += fmt::format(" --fail-exit {}", code);
  for (const auto& p : a.fail_output) flags += " --fail-output " + shell_quote(p);
  for (const auto& f : a.options.injection.faults) flags += " --fault " + shell_quote(f);
  flags += " --cwd " + shell_quote(a.cwd);
  std::string words;
  for (const auto& w : command) words += " " + shell_quote(w);
  return fmt::format(
      "faultline exec --name {} --variant {} --sanitizer {} --seed {} --timeout {}{} --{}",
      shell_quote(a.name), shell_quote(a.variant), a.options.sanitizer, seed, a.options.timeout_s,
      flags, words);
}

// `launcher`: the seccomp launcher the command runs under (a static program), or "".
std::vector<RunPlan> plan_exec_runs(const ExecArgs& a, const std::vector<std::string>& command,
                                    const Expectation& expectation, const std::string& launcher) {
  const Sanitizer sanitizer = parse_sanitizer(a.options.sanitizer);
  const std::uint64_t seed = base_seed(a.options);
  std::vector<RunPlan> plans;
  for (std::uint64_t i = 0; i < a.options.repeat; ++i) {
    RunPlan plan;
    plan.scenario = a.name;
    plan.variant = a.variant;
    plan.sanitizer = sanitizer;
    plan.seed = seed + i;
    plan.repeat_index = i;
    plan.argv = command;
    if (!launcher.empty()) plan.argv.insert(plan.argv.begin(), {launcher, "--"});
    plan.cwd = a.cwd;
    plan.fail_exit = a.fail_exit;
    plan.fail_output = a.fail_output;
    plan.scenario_protocol = false;
    plan.expectation = expectation;
    plan.injection.faults = a.options.injection.faults;  // syscall and clock only (checked)
    plan.injection.fault_plan = a.options.injection.fault_plan;
    plan.replay = exec_replay(a, command, plan.seed);
    plans.push_back(std::move(plan));
  }
  return plans;
}

// The file `program` names, as the runner will start it (a path from `cwd`, or a bare name on
// PATH); nothing when there is no such runnable file.
std::optional<std::filesystem::path> program_file(const std::string& program,
                                                  const std::string& cwd) {
  auto runnable = [](const std::filesystem::path& p) {
    std::error_code ec;
    return std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
  };
  if (program.find('/') != std::string::npos) {
    const std::filesystem::path p(program);
    const std::filesystem::path file = p.is_absolute() ? p : std::filesystem::path(cwd) / p;
    return runnable(file) ? std::optional(file) : std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    const std::size_t colon = dirs.find(':');
    const std::string_view dir = dirs.substr(0, colon);
    const auto file = std::filesystem::path(dir.empty() ? "." : std::string(dir)) / program;
    if (runnable(file)) return file;
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
  }
  return std::nullopt;
}

// The program exec would start, found as execvp finds it; a message naming it and the fix when
// there is none, so that a typo is one line and exit 2, not runs recorded as broken.
std::string missing_program(const std::string& program, const std::string& cwd) {
  if (program_file(program, cwd)) return "";
  if (program.find('/') != std::string::npos) {
    return fmt::format(
        "exec: {} is not a program that can be run (no such file, or not "
        "executable): check the path after --",
        program);
  }
  return fmt::format("exec: {} is not found on PATH: check its name, or give its path", program);
}

// exec takes the faults of the command's process (syscall, clock). The dynamic loader applies
// them to a dynamically linked program; a statically linked one, or a Go program (which makes
// its own system calls), gets its syscall faults from the seccomp launcher instead, and no clock
// fault. The launcher's path, to run the command under, or "" for none.
std::string check_exec_faults(const ExecArgs& a, const std::string& program) {
  const Injection& injection = a.options.injection;
  const bool network = std::any_of(injection.faults.begin(), injection.faults.end(),
                                   [](const std::string& f) { return !fault::is_child_fault(f); });
  if (network || !injection.perturb.empty() || !injection.nemesis.empty()) {
    throw UsageError(
        "exec: network faults, --perturb and --nemesis need a faultline scenario (they are wired "
        "into its clients and server); exec takes syscall and clock faults, and gives the "
        "command the seed in $FAULTLINE_SEED");
  }
  if (injection.faults.empty()) return "";
  check_child_faults(injection.faults, parse_sanitizer(a.options.sanitizer));
  const auto file = program_file(program, a.cwd);
  if (!file) return "";
  const auto why = fault::seccomp_reason(file->string(), program);
  return why ? seccomp_launcher_for(injection.faults, *why) : "";
}
// The label of a command: its script when the program is an interpreter (python3 race.py ->
// race.py, go run ./repro.go -> repro.go), else the program's own name.
std::string default_name(const std::vector<std::string>& command) {
  const std::string program = std::filesystem::path(command.front()).filename().string();
  static const char* const kInterpreters[] = {"python", "python3", "bash", "sh", "dash",
                                              "node",   "ruby",    "perl", "go", "env"};
  const bool interpreter = std::any_of(std::begin(kInterpreters), std::end(kInterpreters),
                                       [&](const char* i) { return program == i; }) ||
                           program.starts_with("python3.");
  if (!interpreter) return program;
  for (std::size_t i = 1; i < command.size(); ++i) {
    const std::string& w = command[i];
    if (w.empty() || w[0] == '-' || w == "run" || w.find('=') != std::string::npos) continue;
    return std::filesystem::path(w).filename().string();
  }
  return program;
}

// --cwd made absolute and checked, --fail-output compiled once to check it, and --fail-exit and
// --fail-output as the expectation when none is given.
void resolve_exec_oracles(ExecArgs& a) {
  std::error_code ec;
  if (a.cwd.empty()) a.cwd = std::filesystem::current_path(ec).string();
  a.cwd = std::filesystem::absolute(a.cwd, ec).lexically_normal().string();
  if (!std::filesystem::is_directory(a.cwd, ec)) {
    throw UsageError(fmt::format("exec: --cwd {} is not a folder: give an existing one", a.cwd));
  }
  if (a.cwd.size() > 1 && a.cwd.back() == '/') a.cwd.pop_back();
  for (const auto& p : a.fail_output) {
    try {
      (void)std::regex(p, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      throw UsageError(
          fmt::format("exec: --fail-output '{}' is not a regular expression ({})", p, e.what()));
    }
  }
  for (int code : a.fail_exit) {
    if (code <= 0 || code > 255) {
      throw UsageError(fmt::format(
          "exec: --fail-exit {} is not an exit code that means failure: give 1 to 255", code));
    }
  }
  auto oracle = [&](bool used, const char* kind) {
    if (!used) return;
    if (std::find(a.observes.begin(), a.observes.end(), kind) == a.observes.end()) {
      a.observes.emplace_back(kind);
    }
    if (!a.implied_expect) return;
    a.expect.emplace_back(kind);
  };
  a.implied_expect = a.expect.empty();
  oracle(!a.fail_exit.empty(), "exit_code");
  oracle(!a.fail_output.empty(), "output_match");
}

}  // namespace

int exec(const Args& args) {
  auto dashes = std::find(args.begin(), args.end(), "--");
  Args own(args.begin(), dashes);
  std::vector<std::string> command(dashes == args.end() ? dashes : dashes + 1, args.end());
  ExecArgs a;
  po::options_description desc(kExecUsage), hidden, all;
  add_exec_options(desc, hidden, a);
  all.add(desc).add(hidden);
  auto vm = parse("exec", own, all);
  if (vm.count("help")) {
    std::cout << desc;
    return kExitOk;
  }
  if (command.empty()) {
    throw UsageError("exec: give the command after --, e.g. faultline exec --repeat 5 -- ./repro");
  }
  if (vm.count("seed")) a.options.seed = vm["seed"].as<std::uint64_t>();
  check_run_options(a.options);
  add_fault_plan(a.options.injection, a.fault_plan);
  resolve_exec_oracles(a);
  if (std::string problem = missing_program(command.front(), a.cwd); !problem.empty()) {
    throw UsageError(problem);
  }
  const std::string launcher = check_exec_faults(a, command.front());
  if (!a.options.scenario_dirs.empty()) {
    throw UsageError(
        "exec: --scenarios names folders of faultline scenarios, which run does: exec runs the "
        "command after --");
  }
  const Expectation expectation =
      exec_expectation(a.expect, a.reach, a.observes, a.variant, a.options.sanitizer);
  if (a.name.empty()) a.name = default_name(command);
  if (a.options.out.empty()) a.options.out = "results/exec-" + a.name + ".jsonl";
  ResultsWriter writer(a.options.out);
  const std::vector<RunPlan> plans = plan_exec_runs(a, command, expectation, launcher);
  install_interrupt_handlers();
  BatchOutcome outcome = run_batch(plans, external_settings(a.options), a.options.jobs, writer,
                                   &g_stop, print_run_line);
  return finish(outcome, writer);
}

}  // namespace faultline::cli
