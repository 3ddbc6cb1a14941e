// faultline: runs incident scenarios (and any command) as child processes, survives whatever
// they do, and records what was observed. See `faultline --help`.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/cli/cli.h"
#include "harness/judge/summary.h"
#include "harness/record/results_file.h"

namespace {

struct Command {
  const char* name;
  int (*fn)(const faultline::cli::Args&);
  const char* help;
};

const Command kCommands[] = {
    {"list", faultline::cli::list, "list the scenarios, their variants and parameters"},
    {"run", faultline::cli::run, "run a scenario's variants, repeatedly, and record every run"},
    {"exec", faultline::cli::exec, "run any command the same way: faultline exec -- CMD ARGS"},
    {"sweep", faultline::cli::sweep, "run a scenario over a grid of parameters (resumable)"},
    {"compare", faultline::cli::compare, "compare two results files with statistical tests"},
    {"export", faultline::cli::export_results, "write a results file as CSV or JUnit XML"},
    {"report", faultline::cli::report, "write results files as one self-contained HTML page"},
    {"merge", faultline::cli::merge, "merge a campaign's shard files, checked complete"},
    {"replay", faultline::cli::replay, "run a recorded run again exactly and compare verdicts"},
    {"shrink", faultline::cli::shrink,
     "find the fewest, weakest faults with which a recorded run still reproduces"},
    {"score", faultline::cli::score,
     "the detector matrix: TP/FN/FP/TN of every build per incident"},
    {"proxy", faultline::cli::proxy, "forward TCP or UDP to a server through network faults"},
    {"emit", faultline::cli::emit, "report an observation or metric from inside an exec'd run"},
};

// The version, and the revision it was built from: build_info.json next to the binary in a build
// tree, or in the release build of an installed one (<prefix>/libexec/faultline/release).
std::string version_line() {
  std::string revision = "unknown revision";
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::filesystem::path file = exe.parent_path() / "build_info.json";
  if (!std::filesystem::exists(file, ec)) {
    file = faultline::Catalog::default_build_root() / "release" / "build_info.json";
  }
  std::ifstream in(file);
  const auto info = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!ec && info.is_object() && info.value("git_revision", "").size() >= 12) {
    revision = "git " + info.value("git_revision", "").substr(0, 12) +
               (info.value("git_dirty", false) ? " with uncommitted changes" : "");
  }
  return fmt::format("faultline 0.1.0 ({})", revision);
}

void print_help() {
  std::cout << "faultline: recreate production concurrency incidents and prove, run after run,\n"
               "whether each one happens.\n\nusage: faultline COMMAND [options]\n\ncommands:\n";
  for (const auto& c : kCommands) std::cout << fmt::format("  {:<9} {}\n", c.name, c.help);
  std::cout << "\n`faultline help COMMAND` (or COMMAND --help) describes each; --version names\n"
               "the build. Exit codes: 0 ok, 1 an expectation was missed, 2 bad input, 3 some\n"
               "runs ended unknown, 4 internal error, 130 interrupted.\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (argc > 0) faultline::cli::set_invoked_as(argv[0]);
  if (args.size() == 2 && args[0] == "help") args = {args[1], "--help"};  // faultline help CMD
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_help();
    return args.empty() ? faultline::kExitUsage : faultline::kExitOk;
  }
  if (args[0] == "--version" || args[0] == "version") {
    std::cout << version_line() << "\n";
    return faultline::kExitOk;
  }
  const std::string name = args[0];
  args.erase(args.begin());
  for (const auto& c : kCommands) {
    if (name != c.name) continue;
    try {
      return c.fn(args);
    } catch (const faultline::UsageError& e) {
      std::cerr << "faultline: " << e.what() << "\n";
      return faultline::kExitUsage;
    } catch (const faultline::ResultsFileError& e) {
      std::cerr << "faultline: " << e.what() << "\n";
      return faultline::kExitUsage;
    } catch (const faultline::ResultsWriteError& e) {
      std::cerr << "faultline: " << e.what() << "\n";
      return faultline::kExitInternal;
    } catch (const std::exception& e) {
      std::cerr << "faultline: internal error: " << e.what() << "\n";
      return faultline::kExitInternal;
    }
  }
  std::vector<std::string> names;
  for (const auto& c : kCommands) names.emplace_back(c.name);
  auto near = faultline::near_names(name, names);
  std::cerr << fmt::format("faultline: unknown command '{}': {}\n", name,
                           near.empty() ? fmt::format("the commands are {}", fmt::join(names, ", "))
                                        : fmt::format("did you mean {}?", fmt::join(near, ", ")));
  return faultline::kExitUsage;
}
