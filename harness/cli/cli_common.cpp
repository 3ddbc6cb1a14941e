#include <fmt/format.h>
#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <random>
#include <string_view>

#include "harness/cli/cli.h"
#include "harness/fault/child_faults.h"
#include "harness/fault/faults.h"
#include "harness/judge/judge.h"
#include "harness/judge/summary.h"
#include "harness/nemesis/nemesis.h"
#include "harness/plan/fault_plan.h"
#include "harness/probe/perturb.h"
#include "harness/probe/run_clock.h"
#include "harness/probe/shown.h"
#include "harness/scenario/fault_spec.h"

namespace faultline::cli {
namespace po = boost::program_options;

std::atomic<bool> g_stop{false};

namespace {
extern "C" void on_interrupt(int) {
  g_stop.store(true);
}

// Semantic checks of each injection, before any run starts, with the same functions the
// scenario binary uses (it checks again).
std::optional<std::string> check_network_fault(const FaultSpec& fault) {
  return fault::validate_fault(fault);
}
std::string network_fault_family(const FaultSpec& fault) {
  return fault::fault_family(fault);
}
std::optional<std::string> check_perturb(const std::string& text) {
  return perturb::validate_perturb_spec(text);
}
std::optional<std::string> check_nemesis(const std::string& text) {
  return nemesis::validate_nemesis_spec(text);
}

// TSan maps its shadow memory at fixed addresses; kernels that randomise mmap with more than
// 28 bits break it ("unexpected memory mapping"). Running without ASLR is the known way out.
bool tsan_needs_setarch() {
  std::ifstream in("/proc/sys/vm/mmap_rnd_bits");
  int bits = 0;
  return (in >> bits) && bits > 28;
}
}  // namespace

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-_./=:,+@%") == std::string::npos) {
    return s;
  }
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;  // a second Ctrl-C takes the default action: the driver dies
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void add_run_options(po::options_description& desc, RunOptions& o, const RunOptionTexts& t) {
  desc.add_options()("sanitizer",
                     po::value(&o.sanitizer)->default_value("none")->value_name("BUILD"),
                     "build to run: none (release), tsan or asan")(
      "repeat", po::value(&o.repeat)->default_value(1)->value_name("N"), "runs per variant")(
      "jobs", po::value(&o.jobs)->default_value(1, t.jobs_default)->value_name("J"),
      "runs at once (parallel runs compete for cores and change timing)")(
      "timeout", po::value(&o.timeout_s)->default_value(60, "60")->value_name("S"),
      "seconds before a run is stopped (SIGTERM, then SIGKILL) and counted unknown")(
      "seed", po::value<std::uint64_t>()->value_name("S"), t.seed)(
      "out", po::value(&o.out)->value_name("FILE"), "results file to append to (JSON Lines)")(
      "build-root", po::value(&o.build_root)->value_name("DIR"),
      "folder holding the preset builds (default: the one this faultline was built in)")(
      "max-fds", po::value(&o.max_fds)->default_value(0)->value_name("N"),
      "RLIMIT_NOFILE for the child (0: inherit)")(
      "max-memory-mb", po::value(&o.max_memory_mb)->default_value(0)->value_name("MIB"),
      "RLIMIT_AS for the child in MiB (0: none; not with sanitizers, which reserve terabytes)")(
      "max-procs", po::value(&o.max_procs)->default_value(0)->value_name("N"),
      "RLIMIT_NPROC for the child (0: inherit; root ignores it)")(
      "max-threads", po::value(&o.max_threads)->default_value(0)->value_name("N"),
      "tasks (threads + processes) the run may have at once, through a per-run pids cgroup "
      "(RLIMIT_NPROC when none is writable and not root); 0: no limit")(
      "end-at-answer", po::bool_switch(&o.end_at_answer),
      "end a run expecting an incident once a complete sanitizer or runtime report shows it, "
      "instead of at its own end (recorded in exit.ended_at_answer)");
  desc.add_options()("fault", po::value(&o.injection.faults)->composing()->value_name("SPEC"),
                     t.injection != nullptr
                         ? "a fault of the command's process, repeatable: "
                           "syscall:call=accept,errno=EMFILE,p=0.01, "
                           "syscall:call=write,delay-us=500,when=100..200 or clock:offset-s=30 "
                           "(dynamically linked programs); see docs/faults.md"
                         : "a fault, kind:key=value,... (repeatable): on the network between the "
                           "scenario's clients and its server (latency:ms=5,jitter=2, "
                           "udp-loss:p=0.01), or on the process (syscall:call=accept,"
                           "errno=EMFILE,p=0.01, clock:offset-s=30); see docs/faults.md");
  (t.injection ? *t.injection : desc)
      .add_options()("perturb", po::value(&o.injection.perturb)->value_name("SPEC"),
                     "seeded scheduling perturbation at the scenarios' named points, e.g. "
                     "probability=0.1,max-us=200")(
          "nemesis", po::value(&o.injection.nemesis)->composing()->value_name("SPEC"),
          "process fault on the scenario's server, e.g. pause:at=0.5,for=0.3 (repeatable)");
  add_scenario_dirs_option(t.injection ? *t.injection : desc, o.scenario_dirs);
}

void check_run_options(const RunOptions& o) {
  parse_sanitizer(o.sanitizer);
  if (o.out == "-") {
    throw UsageError(
        "--out -: runs are appended to a results file, which --resume, replay and merge read "
        "back: name a file, then print it with faultline export FILE --format csv --out -");
  }
  if (o.repeat < 1 || o.repeat > 100000) {
    throw UsageError(fmt::format("--repeat {} is out of range: use 1 to 100000", o.repeat));
  }
  if (o.jobs < 1 || o.jobs > 256) {
    throw UsageError(fmt::format("--jobs {} is out of range: use 1 to 256", o.jobs));
  }
  if (!(o.timeout_s > 0) || o.timeout_s > 86400) {
    throw UsageError(
        fmt::format("--timeout {} is out of range: use more than 0 and at most 86400 "
                    "seconds",
                    o.timeout_s));
  }
  if (o.max_threads > 0 && thread_limit_support().mechanism.empty()) {
    throw UsageError(thread_limit_support().error);
  }
  // A seed travels to the scenario as a signed 64-bit number; RLIMIT_AS is bytes in 64 bits.
  if (o.seed && *o.seed > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    throw UsageError(fmt::format("--seed {} is out of range: use 0 to {}", *o.seed,
                                 std::numeric_limits<std::int64_t>::max()));
  }
  constexpr std::uint64_t kMaxMemoryMb = std::uint64_t{1} << 24;  // 16 TiB
  if (o.max_memory_mb > kMaxMemoryMb) {
    throw UsageError(
        fmt::format("--max-memory-mb {} is out of range: use 1 to {} (16 TiB), or 0 "
                    "for no limit",
                    o.max_memory_mb, kMaxMemoryMb));
  }
  if (o.max_memory_mb > 0 && o.sanitizer != "none") {
    throw UsageError(
        "--max-memory-mb limits address space, which TSan and ASan reserve by the "
        "terabyte: use it with --sanitizer none only");
  }
}

// Syscall and clock faults (any child, any scenario): each valid, together allowed in this
// build, and what applies them at hand.
void check_child_faults(const std::vector<std::string>& faults, Sanitizer sanitizer) {
  if (auto problem = fault::check_child_faults(faults, sanitizer != Sanitizer::kNone)) {
    throw UsageError(*problem);
  }
  try {
    (void)fault::child_fault_setup(faults, "/dev/null", "");
  } catch (const std::runtime_error& e) {
    throw UsageError(e.what());
  }
}

std::string seccomp_launcher_for(const std::vector<std::string>& faults, const std::string& why) {
  if (auto problem = fault::static_program_problem(faults, why)) throw UsageError(*problem);
  const bool syscall = std::any_of(faults.begin(), faults.end(), [](const std::string& f) {
    return fault::is_child_fault(f) && f.starts_with("syscall");
  });
  if (!syscall) return "";
  try {
    return fault::seccomp_launcher_path();
  } catch (const std::runtime_error& e) {
    throw UsageError(e.what());
  }
}

void check_injection(const ScenarioSpec& spec, const Injection& injection, Sanitizer sanitizer) {
  check_child_faults(injection.faults, sanitizer);
  auto accepts = [&](std::string_view family) {
    return std::find(spec.faults.begin(), spec.faults.end(), family) != spec.faults.end();
  };
  const std::string families =
      spec.faults.empty() ? std::string("none") : fmt::format("{}", fmt::join(spec.faults, ", "));
  for (const auto& text : injection.faults) {
    if (fault::is_child_fault(text)) continue;  // checked above: they act on the process
    FaultSpec fault;
    try {
      fault = parse_fault_spec(text);
    } catch (const std::invalid_argument& e) {
      throw UsageError(fmt::format("--fault: {}", e.what()));
    }
    if (auto error = check_network_fault(fault))
      throw UsageError(fmt::format("--fault: {}", *error));
    const std::string family = network_fault_family(fault);
    if (!accepts(family)) {
      throw UsageError(fmt::format(
          "--fault {}: {} has no {} traffic to put it on (its fault families: {}; faultline list "
          "{} shows them)",
          text, spec.id, family, families, spec.id));
    }
  }
  if (!injection.perturb.empty()) {
    if (auto error = check_perturb(injection.perturb)) {
      throw UsageError(*error);
    }
  }
  for (const auto& text : injection.nemesis) {
    if (!accepts("process")) {
      throw UsageError(fmt::format(
          "--nemesis: {} cannot run its server as a separate process to pause, kill or restart "
          "(its fault families: {})",
          spec.id, families));
    }
    if (auto error = check_nemesis(text)) throw UsageError(*error);
  }
}

void add_fault_plan_option(po::options_description& desc, std::string& file, bool for_exec) {
  desc.add_options()("fault-plan", po::value(&file)->value_name("FILE"),
                     for_exec ? "phases of syscall faults over time, a JSON file: each phase "
                                "switches its faults on from from_ms to until_ms (docs/faults.md, "
                                "\"Fault plans\")"
                              : "phases of faults over time, a JSON file: each phase switches "
                                "--fault specs on from from_ms to until_ms and starts --nemesis "
                                "actions (docs/faults.md, \"Fault plans\")");
}

void add_fault_plan(Injection& injection, const std::string& file) {
  if (file.empty()) return;
  FaultPlan plan;
  try {
    plan = read_fault_plan(file);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  injection.fault_plan = fault_plan_json(plan);
  for (const auto& phase : plan.phases) {
    CompiledPhase c = compile_phase(phase);
    injection.faults.insert(injection.faults.end(), c.faults.begin(), c.faults.end());
    injection.nemesis.insert(injection.nemesis.end(), c.nemesis.begin(), c.nemesis.end());
  }
}

void add_scenario_dirs_option(po::options_description& desc, std::vector<std::string>& dirs) {
  desc.add_options()("scenarios", po::value(&dirs)->composing()->value_name("DIR"),
                     "folder of scenarios built outside this tree (faultline_add_scenario), "
                     "repeatable; also $FAULTLINE_SCENARIO_PATH");
}

Catalog make_catalog(const RunOptions& o) {
  std::filesystem::path root =
      o.build_root.empty() ? Catalog::default_build_root() : std::filesystem::path(o.build_root);
  if (!std::filesystem::is_directory(root)) {
    throw UsageError(
        fmt::format("build root {} does not exist: build with `cmake --preset release "
                    "&& cmake --build --preset release`, or pass --build-root",
                    root.string()));
  }
  std::vector<std::filesystem::path> dirs;
  auto add = [&](const std::filesystem::path& dir, const char* given_by) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
      throw UsageError(
          fmt::format("scenario folder {} ({}) does not exist: give the folder your project's "
                      "faultline_add_scenario builds into (<build>/faultline-scenarios by default)",
                      shown(dir.string()), given_by));
    }
    dirs.push_back(dir);
  };
  for (const auto& dir : o.scenario_dirs) add(dir, "--scenarios");
  for (const auto& dir : Catalog::env_scenario_dirs()) add(dir, "FAULTLINE_SCENARIO_PATH");
  return Catalog(root, std::move(dirs));
}

RunSettings external_settings(const RunOptions& o) {
  RunSettings settings;
  settings.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(o.timeout_s * 1000));
  if (o.max_fds) settings.limits.open_files = o.max_fds;
  if (o.max_memory_mb) settings.limits.address_space_bytes = o.max_memory_mb << 20;
  if (o.max_procs) settings.limits.processes = o.max_procs;
  if (o.max_threads) settings.limits.threads = o.max_threads;
  settings.end_at_answer = o.end_at_answer;
  settings.build = {{"preset", "external"}};
  settings.host = host_info();
  return settings;
}

RunSettings make_settings(const Catalog& catalog, const std::string& id, Sanitizer sanitizer,
                          const RunOptions& o) {
  RunSettings settings = external_settings(o);
  settings.build = catalog.build_info(id, sanitizer);
  settings.build["preset"] = preset_of(sanitizer);
  settings.build["build_dir"] = catalog.preset_dir(id, sanitizer).string();
  return settings;
}

std::uint64_t base_seed(const RunOptions& o) {
  if (o.seed) return *o.seed;
  // Small enough to type back on a command line.
  return std::random_device{}() % 1000000000u;
}

std::vector<std::string> select_variants(const ScenarioSpec& spec, const std::string& arg) {
  if (arg == "all") return spec.variants;
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= arg.size()) {
    std::size_t comma = arg.find(',', pos);
    std::string name =
        arg.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (std::find(spec.variants.begin(), spec.variants.end(), name) == spec.variants.end()) {
      throw UsageError(fmt::format("{} has no variant '{}': choose {} or all", spec.id, name,
                                   fmt::join(spec.variants, ", ")));
    }
    out.push_back(name);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

std::vector<RunPlan> plan_scenario_runs(
    const Catalog& catalog, const ScenarioSpec& spec, const std::vector<std::string>& variants,
    Sanitizer sanitizer, const Params& params, std::uint64_t repeat, std::uint64_t seed,
    double timeout_s, const Injection& injection,
    const std::function<std::uint64_t(std::uint64_t)>& seed_of) {
  std::vector<std::string> prefix;
  if (sanitizer == Sanitizer::kTsan && tsan_needs_setarch()) {
    struct utsname u {};
    ::uname(&u);
    prefix = {"setarch", u.machine, "-R"};
  }
  std::vector<RunPlan> plans;
  for (const auto& variant : variants) {
    for (std::uint64_t i = 0; i < repeat; ++i) {
      RunPlan plan;
      plan.scenario = spec.id;
      plan.variant = variant;
      plan.sanitizer = sanitizer;
      plan.params = params.all();
      plan.seed = seed_of ? seed_of(i) : seed + i;
      plan.repeat_index = i;
      plan.expectation = resolve_expectation(spec, variant, sanitizer_name(sanitizer));
      plan.injection = injection;
      ScenarioArgs args{variant, plan.seed};
      for (const auto& [k, v] : plan.params) args.sets.push_back(k + "=" + v);
      // Network faults go to the scenario, which routes its clients through the proxy; syscall
      // and clock faults are the driver's to apply (executor.cpp), and the replay line's.
      std::vector<std::string> child;
      for (const auto& f : injection.faults) {
        (fault::is_child_fault(f) ? child : args.faults).push_back(f);
      }
      args.perturb = injection.perturb;
      args.nemesis = injection.nemesis;
      const std::vector<std::string> words = scenario_argv(args);
      plan.argv = prefix;
      plan.argv.push_back(catalog.binary(spec.id, sanitizer).string());
      plan.argv.insert(plan.argv.end(), words.begin(), words.end());
      // words begin "--variant V --seed N": the replay line puts the build and time limit
      // between them and gives the rest as they are.
      std::string replay = fmt::format(
          "faultline run {} --variant {} --sanitizer {} --seed {} --timeout {}", spec.id,
          shell_quote(variant), sanitizer_name(sanitizer), plan.seed, timeout_s);
      for (std::size_t w = 4; w < words.size(); ++w) replay += " " + shell_quote(words[w]);
      for (const auto& f : child) replay += " --fault " + shell_quote(f);
      plan.replay = replay;
      plans.push_back(std::move(plan));
    }
  }
  return plans;
}

std::string run_line_detail(const Record& r) {
  const Judgement j = judge_record(r);
  std::string symptoms;
  for (const auto& s : r.symptoms) {
    if (!symptoms.empty()) symptoms += ", ";
    symptoms += fmt::format("{} x{}", s.kind, s.count);
  }
  std::string text = fmt::format("{} ({})", outcome_name(j.outcome), j.reason);
  if (!symptoms.empty() && j.outcome != Outcome::kReproduced && j.outcome != Outcome::kFixFailed) {
    text += "; symptoms: " + symptoms;
  }
  if (r.exit.ended_at_answer) text += "; ended at the answer";
  return text;
}

bool use_colour(int fd) {
  const char* no_colour = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  return ::isatty(fd) == 1 && (no_colour == nullptr || *no_colour == '\0') && term != nullptr &&
         std::string_view(term) != "dumb" && *term != '\0';
}

void print_run_line(const Record& r, std::size_t done, std::size_t total) {
  // The driver started its runs when it started: the pace so far is run_seconds() / done.
  const double left = done > 0 ? run_seconds() / static_cast<double>(done) *
                                     static_cast<double>(total - std::min(done, total))
                               : 0;
  const std::string eta = done < total ? fmt::format(", ~{:.0f}s left", left) : "";
  std::cerr << fmt::format("[{}/{}{}] {} {} #{} seed {}: {} in {:.2f}s\n", done, total, eta,
                           r.scenario, r.variant, r.repeat_index + 1, r.seed, run_line_detail(r),
                           r.duration_s)
            << std::flush;
}

int finish(const BatchOutcome& outcome, const ResultsWriter& writer,
           const std::vector<std::string>& notes) {
  auto groups = summarise(outcome.records);
  std::cout << "\n" << render_summary(groups, use_colour(STDOUT_FILENO));
  for (const auto& n : notes) std::cout << n << "\n";
  std::cout << fmt::format("{} record{} appended to {}\n", outcome.records.size(),
                           outcome.records.size() == 1 ? "" : "s", writer.path().string());
  if (writer.repaired_bytes() > 0) {
    std::cout << fmt::format(
        "(its torn last line, {} bytes from a driver that died mid-write, was "
        "cut off first)\n",
        writer.repaired_bytes());
  }
  if (outcome.interrupted) {
    std::cout << fmt::format(
        "interrupted: {} finished runs were kept; {} in flight were stopped "
        "and dropped; {} never started\n",
        outcome.records.size(), outcome.dropped_in_flight, outcome.not_started);
    return kExitInterrupted;
  }
  return exit_code_for(groups);
}

namespace {

// Boost reads "-1" into an unsigned option as 18446744073709551615, and says only "the argument
// is invalid" for a word that is not a number: every numeric option is checked on the words as
// typed, and a bad one named with what the option takes.
void check_number_words(const std::string& command, const po::options_description& desc,
                        const po::parsed_options& parsed) {
  for (const auto& option : parsed.options) {
    const auto* description = desc.find_nothrow(option.string_key, false);
    if (!description) continue;
    const po::value_semantic* semantic = description->semantic().get();
    const bool whole = dynamic_cast<const po::typed_value<std::uint64_t>*>(semantic) != nullptr ||
                       dynamic_cast<const po::typed_value<unsigned>*>(semantic) != nullptr;
    const bool integer = dynamic_cast<const po::typed_value<int>*>(semantic) != nullptr;
    const bool real = dynamic_cast<const po::typed_value<double>*>(semantic) != nullptr;
    for (const auto& word : option.value) {
      std::string takes;
      if (whole && (word.empty() || word.find_first_not_of("0123456789") != std::string::npos)) {
        takes = "a whole number (0, 1, 2, ...)";
      } else if (integer && !word.empty()) {
        const std::size_t digits = word[0] == '-' ? 1 : 0;
        if (word.size() == digits ||
            word.find_first_not_of("0123456789", digits) != std::string::npos) {
          takes = "a whole number";
        }
      } else if (real) {
        char* end = nullptr;
        errno = 0;
        const double v = std::strtod(word.c_str(), &end);
        if (word.empty() || end != word.c_str() + word.size() || errno == ERANGE ||
            !std::isfinite(v)) {
          takes = "a number such as 2 or 0.5";
        }
      }
      if (!takes.empty()) {
        throw UsageError(fmt::format("{}: --{} takes {}, not '{}' (see faultline {} --help)",
                                     command, option.string_key, takes, shown(word), command));
      }
    }
  }
}

// The first word beyond what the command's operands take, found by parsing again with room for
// more: "too many positional options" alone does not say which.
std::string first_extra_operand(const Args& args, const po::options_description& desc,
                                const po::positional_options_description& positional) {
  po::options_description with_rest;
  with_rest.add(desc);
  with_rest.add_options()("faultline-extra-operands", po::value<std::vector<std::string>>());
  po::positional_options_description wider;
  for (unsigned i = 0; i < positional.max_total_count(); ++i) {
    wider.add(positional.name_for_position(i).c_str(), 1);
  }
  wider.add("faultline-extra-operands", -1);
  try {
    const auto parsed = po::command_line_parser(args).options(with_rest).positional(wider).run();
    for (const auto& option : parsed.options) {
      if (option.string_key == "faultline-extra-operands" && !option.value.empty()) {
        return option.value.front();
      }
    }
  } catch (const po::error&) {
  }
  return "";
}

}  // namespace

po::variables_map parse(const std::string& command, const Args& args,
                        const po::options_description& desc,
                        const po::positional_options_description* positional) {
  po::variables_map vm;
  try {
    auto parser = po::command_line_parser(args).options(desc);
    if (positional) parser.positional(*positional);
    const po::parsed_options parsed = parser.run();
    check_number_words(command, desc, parsed);
    po::store(parsed, vm);
    po::notify(vm);
  } catch (const po::too_many_positional_options_error&) {
    const std::string extra =
        positional ? first_extra_operand(args, desc, *positional) : std::string();
    throw UsageError(fmt::format(
        "{}: '{}' is one word too many: {} (an option's value follows its --name; see "
        "faultline {} --help)",
        command, shown(extra),
        positional && positional->max_total_count() > 0
            ? fmt::format("{} takes at most {} operand{}", command, positional->max_total_count(),
                          positional->max_total_count() == 1 ? "" : "s")
            : fmt::format("{} takes no operands", command),
        command));
  } catch (const po::error& e) {
    throw UsageError(fmt::format("{}: {} (see faultline {} --help)", command, e.what(), command));
  }
  return vm;
}

po::variables_map parse(const std::string& command, const Args& args,
                        const po::options_description& desc, const char* operand,
                        const po::value_semantic* value, int max_count) {
  po::options_description hidden;
  hidden.add_options()(operand, value);
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description positional;
  positional.add(operand, max_count);
  return parse(command, args, all, &positional);
}

void write_whole(const std::string& out, const std::string& text) {
  namespace fs = std::filesystem;
  const fs::path dest(out);
  if (fs::is_directory(dest)) {
    throw UsageError(fmt::format("-o {} is a folder: name the file to write in it", out));
  }
  const fs::path tmp =
      dest.parent_path() / fmt::format(".{}.tmp-{}", dest.filename().string(), ::getpid());
  {
    std::ofstream o(tmp, std::ios::binary | std::ios::trunc);
    if (!o) {
      throw UsageError(
          fmt::format("cannot write {}: {} (choose another -o)", out, std::strerror(errno)));
    }
    if (!(o << text) || !o.flush()) {
      const std::string why = std::strerror(errno);
      o.close();
      fs::remove(tmp);
      throw UsageError(fmt::format("cannot write {}: {} (choose another -o)", out, why));
    }
  }
  std::error_code ec;
  fs::rename(tmp, dest, ec);
  if (ec) {
    fs::remove(tmp);
    throw UsageError(fmt::format("cannot write {}: {} (choose another -o)", out, ec.message()));
  }
}

namespace {
std::string& invoked_as_storage() {
  static std::string word = "faultline";
  return word;
}
}  // namespace

const std::string& invoked_as() {
  return invoked_as_storage();
}

void set_invoked_as(const std::string& argv0) {
  invoked_as_storage() =
      argv0.find('/') == std::string::npos ? std::string("faultline") : shell_quote(argv0);
}

}  // namespace faultline::cli
