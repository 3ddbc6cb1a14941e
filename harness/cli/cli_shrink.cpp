// faultline shrink RUN_ID: from a run that reproduced with several faults (--fault, --perturb,
// --nemesis, the phases of a --fault-plan), finds a smallest set of them that still reproduces at a
// stated rate, then the smallest strengths of what is left, by running trials of the recorded run
// (same scenario, variant, build, parameters and seeds) with less. The search over sets is Zeller's
// delta debugging (ddmin): try halves, then complements, then finer pieces. A trial passes when at
// least --rate of its decided runs reproduced; unknown runs count for nothing.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "harness/cli/cli.h"
#include "harness/judge/judge.h"
#include "harness/judge/summary.h"
#include "harness/plan/fault_plan.h"
#include "harness/record/results_file.h"
#include "harness/scenario/fault_spec.h"

namespace faultline::cli {
namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

// One thing the run was given: a --fault, the --perturb spec, a --nemesis, or a phase of its
// --fault-plan (text: the phase as the record's fault_plan holds it), removed whole.
struct Element {
  enum Kind { kFault, kPerturb, kNemesis, kPhase } kind;
  std::string text;
  bool operator==(const Element&) const = default;
};

PlanPhase phase_of(const Element& e) {
  const nlohmann::json plan = {{"phases", {nlohmann::json::parse(e.text)}}};
  return fault_plan_from_json(plan).phases.front();
}

// `from` without one copy of each of `taken` (a phase's compiled specs among the run's).
std::vector<std::string> without(std::vector<std::string> from,
                                 const std::vector<std::string>& taken) {
  for (const auto& t : taken) {
    if (auto at = std::find(from.begin(), from.end(), t); at != from.end()) from.erase(at);
  }
  return from;
}

std::vector<Element> elements_of(const Injection& injection) {
  std::vector<std::string> faults = injection.faults, nemesis = injection.nemesis;
  std::vector<Element> phases;
  if (!injection.fault_plan.is_null()) {
    for (const auto& phase : injection.fault_plan["phases"]) {
      const Element e{Element::kPhase, phase.dump()};
      const CompiledPhase c = compile_phase(phase_of(e));
      faults = without(faults, c.faults);
      nemesis = without(nemesis, c.nemesis);
      phases.push_back(e);
    }
  }
  std::vector<Element> out;
  for (const auto& f : faults) out.push_back({Element::kFault, f});
  if (!injection.perturb.empty()) out.push_back({Element::kPerturb, injection.perturb});
  for (const auto& n : nemesis) out.push_back({Element::kNemesis, n});
  out.insert(out.end(), phases.begin(), phases.end());
  return out;
}

Injection injection_of(const std::vector<Element>& elements) {
  Injection in;
  FaultPlan plan;
  for (const auto& e : elements) {
    if (e.kind == Element::kFault) in.faults.push_back(e.text);
    if (e.kind == Element::kPerturb) in.perturb = e.text;
    if (e.kind == Element::kNemesis) in.nemesis.push_back(e.text);
    if (e.kind == Element::kPhase) plan.phases.push_back(phase_of(e));
  }
  for (const auto& phase : plan.phases) {
    const CompiledPhase c = compile_phase(phase);
    in.faults.insert(in.faults.end(), c.faults.begin(), c.faults.end());
    in.nemesis.insert(in.nemesis.end(), c.nemesis.begin(), c.nemesis.end());
  }
  if (!plan.phases.empty()) in.fault_plan = fault_plan_json(plan);
  return in;
}

// The elements as flags a command takes: a phase as the --fault and --nemesis it compiles to.
std::string flags_of(const std::vector<Element>& elements) {
  if (elements.empty()) return "(nothing)";
  std::vector<std::string> words;
  for (const auto& e : elements) {
    if (e.kind == Element::kPhase) {
      const CompiledPhase c = compile_phase(phase_of(e));
      for (const auto& f : c.faults) words.push_back("--fault " + shell_quote(f));
      for (const auto& n : c.nemesis) words.push_back("--nemesis " + shell_quote(n));
      continue;
    }
    const char* flag = e.kind == Element::kFault     ? "--fault"
                       : e.kind == Element::kPerturb ? "--perturb"
                                                     : "--nemesis";
    words.push_back(fmt::format("{} {}", flag, shell_quote(e.text)));
  }
  return fmt::format("{}", fmt::join(words, " "));
}

struct ShrinkArgs {
  std::string id;
  std::vector<std::string> results;
  std::string build_root;
  std::vector<std::string> scenario_dirs;
  std::string out;
  std::uint64_t runs = 5;
  double rate = 0.6;
  std::uint64_t max_trials = 40;
  bool yes = false;
};

struct Trial {
  std::vector<Element> elements;
  std::uint64_t hits = 0, decided = 0, unknown = 0;
  bool passed = false;
};

// Runs the trials, each --runs runs of the recorded run with other elements, and keeps them.
class Shrinker {
 public:
  Shrinker(const Record& rec, const ShrinkArgs& a, ResultsWriter& writer)
      : rec_(rec), a_(a), writer_(writer) {}

  // Whether `elements` still reproduce at the rate; false also once the trial budget is spent.
  bool reproduces(const std::vector<Element>& elements) {
    for (const auto& t : trials_) {
      if (t.elements == elements) return t.passed;  // asked before: the same answer
    }
    if (trials_.size() >= a_.max_trials || g_stop.load()) return false;
    RunOptions options = recorded_options(rec_, a_.build_root, a_.scenario_dirs, 0);
    options.injection = injection_of(elements);
    auto [plan, settings] = replay_plan(rec_, options);
    std::vector<RunPlan> plans;
    for (std::uint64_t i = 0; i < a_.runs; ++i) {
      RunPlan p = plan;
      p.seed = rec_.seed + i;  // run 1 is the recorded run's seed, as replay's
      p.repeat_index = i;
      plans.push_back(std::move(p));
    }
    const BatchOutcome outcome = run_batch(plans, settings, 1, writer_, &g_stop, nullptr);
    Trial t{elements};
    for (const auto& r : outcome.records) {
      const Outcome o = judge_record(r).outcome;
      t.hits += is_hit(o);
      t.decided += is_decided(o);
      t.unknown += !is_decided(o);
    }
    t.passed = t.decided > 0 && static_cast<double>(t.hits) >= a_.rate * t.decided;
    std::cerr << fmt::format("trial {}: {}: reproduced {}/{}{} -> {}\n", trials_.size() + 1,
                             flags_of(elements), t.hits, t.decided,
                             t.unknown ? fmt::format(", {} unknown", t.unknown) : "",
                             t.passed ? "still reproduces" : "not enough");
    trials_.push_back(t);
    return t.passed;
  }

  const std::vector<Trial>& trials() const { return trials_; }
  std::uint64_t runs_made() const {
    std::uint64_t n = 0;
    for (const auto& t : trials_) n += t.decided + t.unknown;
    return n;
  }

 private:
  const Record& rec_;
  const ShrinkArgs& a_;
  ResultsWriter& writer_;
  std::vector<Trial> trials_;
};

// ddmin over `all` (which reproduces): a 1-minimal subset, as far as the budget allows.
std::vector<Element> ddmin(std::vector<Element> all, Shrinker& s) {
  std::size_t n = 2;
  while (all.size() >= 2) {
    const std::size_t size = all.size();
    std::vector<std::vector<Element>> pieces(std::min(n, size));
    for (std::size_t i = 0; i < size; ++i) pieces[i * pieces.size() / size].push_back(all[i]);
    bool reduced = false;
    for (const auto& piece : pieces) {  // a piece alone
      if (s.reproduces(piece)) {
        all = piece, n = 2, reduced = true;
        break;
      }
    }
    for (std::size_t i = 0; !reduced && pieces.size() > 2 && i < pieces.size(); ++i) {
      std::vector<Element> rest;  // everything but a piece
      for (std::size_t j = 0; j < pieces.size(); ++j) {
        if (j != i) rest.insert(rest.end(), pieces[j].begin(), pieces[j].end());
      }
      if (s.reproduces(rest)) all = rest, n = std::max<std::size_t>(n - 1, 2), reduced = true;
    }
    if (reduced) continue;
    if (n >= size) break;
    n = std::min(2 * n, size);
  }
  if (all.size() == 1 && s.reproduces({})) return {};
  return all;
}

// Keys that are a strength: a positive number a smaller value weakens. Not where something
// happens (at, when), not what (call, errno, direction, mode, clocks, points).
bool is_strength(const std::string& key) {
  static const std::vector<std::string> kNot = {"at",   "when",   "call",   "errno", "direction",
                                                "mode", "clocks", "points", "every", "seed"};
  return std::find(kNot.begin(), kNot.end(), key) == kNot.end();
}

// The element with `key` set to `value` (kind:key=v,... or, for --perturb, key=v,...).
Element with_value(const Element& e, const std::string& key, const std::string& value) {
  const bool bare = e.kind == Element::kPerturb;
  const FaultSpec spec = parse_fault_spec(bare ? "x:" + e.text : e.text);
  std::vector<std::string> parts;
  for (const auto& [k, v] : spec.params) parts.push_back(k + "=" + (k == key ? value : v));
  const std::string keys = fmt::format("{}", fmt::join(parts, ","));
  return {e.kind, bare ? keys : spec.kind + ":" + keys};
}

// Halves each strength of each element while it still reproduces (at most 3 halvings a key).
std::vector<Element> weaken(std::vector<Element> elements, Shrinker& s) {
  for (std::size_t i = 0; i < elements.size(); ++i) {
    if (elements[i].kind == Element::kPhase) continue;  // a phase is kept or removed whole
    const bool bare = elements[i].kind == Element::kPerturb;
    FaultSpec spec;
    try {
      spec = parse_fault_spec(bare ? "x:" + elements[i].text : elements[i].text);
    } catch (const std::invalid_argument&) {
      continue;
    }
    for (const auto& [key, value] : spec.params) {
      if (!is_strength(key)) continue;
      auto v = spec_number(value);
      for (int halving = 0; v && *v > 0 && halving < 3; ++halving) {
        const double half = std::floor(*v) == *v && *v >= 2 ? std::floor(*v / 2) : *v / 2;
        std::vector<Element> weaker = elements;
        weaker[i] = with_value(elements[i], key, fmt::format("{}", half));
        if (!s.reproduces(weaker)) break;
        elements = std::move(weaker);
        v = half;
      }
    }
  }
  return elements;
}

void write_summary(const fs::path& file, const Record& rec, const ShrinkArgs& a,
                   const std::vector<Element>& minimal, const Shrinker& s,
                   const std::string& command) {
  nlohmann::json trials = nlohmann::json::array();
  for (const auto& t : s.trials()) {
    trials.push_back({{"given", flags_of(t.elements)},
                      {"reproduced", t.hits},
                      {"decided", t.decided},
                      {"unknown", t.unknown},
                      {"passed", t.passed}});
  }
  const nlohmann::json j = {
      {"run_id", rec.run_id},
      {"scenario", rec.scenario},
      {"variant", rec.variant},
      {"sanitizer", rec.sanitizer},
      {"started_from",
       flags_of(elements_of(recorded_options(rec, a.build_root, a.scenario_dirs, 0).injection))},
      {"minimal", flags_of(minimal)},
      {"minimal_fault_plan", injection_of(minimal).fault_plan},
      {"command", command},
      {"runs_per_trial", a.runs},
      {"rate", a.rate},
      {"runs", s.runs_made()},
      {"trials", trials}};
  write_whole(file.string(), j.dump(2) + "\n");
}

// The command that runs the recorded run with the minimal set: a scenario's replay line made
// again from it; an exec record's replay line with its --fault words swapped (exec takes
// nothing else).
std::string minimal_command(const Record& rec, const RunPlan& plan, const RunOptions& recorded,
                            const std::vector<Element>& minimal) {
  RunOptions smallest = recorded;
  smallest.injection = injection_of(minimal);
  if (plan.scenario_protocol) return replay_plan(rec, smallest).first.replay;
  std::string command = rec.replay;
  for (const auto& f : recorded.injection.faults) {
    const std::string words = " --fault " + shell_quote(f);
    if (const auto at = command.find(words); at != std::string::npos)
      command.erase(at, words.size());
  }
  const std::string flags = minimal.empty() ? std::string() : " " + flags_of(minimal);
  if (const auto at = command.find(" --cwd "); at != std::string::npos) command.insert(at, flags);
  return command;
}

const char* const kShrinkUsage =
    "usage: faultline shrink RUN_ID [options]\n\n"
    "Starts from a recorded run that reproduced with several faults (--fault, --perturb,\n"
    "--nemesis, the phases of a --fault-plan, each kept or removed whole) and finds a\n"
    "smallest set of them that still reproduces, then the smallest\n"
    "strengths of what is left (each number halved while it still reproduces; not `at` or\n"
    "`when`, which say where). Every trial is --runs runs of the recorded run with the recorded\n"
    "seeds and less; it passes when at least --rate of its decided runs reproduced. The search\n"
    "is delta debugging (ddmin). Trial runs are appended to --out, and the minimal\n"
    "configuration with every trial is written beside it as .shrink.json. Exit codes: 0 a\n"
    "minimal configuration was found, 1 the recorded configuration no longer reproduces at the\n"
    "rate, 2 bad input (no such run, a run that did not reproduce, nothing to take away), 130\n"
    "interrupted.\n\n"
    "examples:\n"
    "  faultline shrink 20261207T031005Z-5d1c --runs 5 --rate 0.6\n"
    "  faultline shrink 20261207T031005Z-5d1c --results r.jsonl --out shrink.jsonl --yes\n\n"
    "options";

void add_shrink_options(po::options_description& desc, ShrinkArgs& a) {
  desc.add_options()("help,h", "this text")(
      "results", po::value(&a.results)->composing()->value_name("FILE"),
      "results file(s) to look in (repeatable; default: every results/*.jsonl)")(
      "runs", po::value(&a.runs)->default_value(5)->value_name("N"), "runs per trial")(
      "rate", po::value(&a.rate)->default_value(0.6, "0.6")->value_name("R"),
      "share of a trial's decided runs that must reproduce (0 to 1)")(
      "max-trials", po::value(&a.max_trials)->default_value(40)->value_name("N"),
      "trials at most; the search stops with what it has")(
      "out", po::value(&a.out)->value_name("FILE"),
      "results file for the trial runs (default: results/shrink-<scenario>.jsonl)")(
      "build-root", po::value(&a.build_root)->value_name("DIR"), "folder holding the builds")(
      "yes", po::bool_switch(&a.yes), "run the command an exec record stores");
  add_scenario_dirs_option(desc, a.scenario_dirs);
}

// The recorded run to start from, checked: the options in range, the run found and reproduced.
Record run_to_shrink(const ShrinkArgs& a) {
  if (a.id.empty()) throw UsageError("shrink: give the run id of a run that reproduced");
  if (a.runs < 1 || a.runs > 1000) throw UsageError("shrink: --runs takes 1 to 1000");
  if (!(a.rate > 0) || a.rate > 1) {
    throw UsageError("shrink: --rate takes a number above 0, at most 1");
  }
  if (a.max_trials < 1) throw UsageError("shrink: --max-trials takes 1 or more");
  std::vector<fs::path> files(a.results.begin(), a.results.end());
  for (const auto& f : files) {
    if (!fs::exists(f)) {
      throw UsageError(fmt::format("shrink: results file {} does not exist", f.string()));
    }
  }
  if (files.empty()) files = default_results_files();
  Record rec = find_run("shrink", a.id, files).record;
  const Outcome was = judge_record(rec).outcome;
  if (!is_hit(was)) {
    throw UsageError(fmt::format(
        "shrink: run {} did not reproduce (verdict {}): shrink starts from a run that did",
        rec.run_id, outcome_name(was)));
  }
  return rec;
}

}  // namespace

int shrink(const Args& args) {
  ShrinkArgs a;
  po::options_description desc(kShrinkUsage);
  add_shrink_options(desc, a);
  auto vm = parse("shrink", args, desc, "id", po::value(&a.id), 1);
  if (vm.count("help")) {
    std::cout << desc;
    return kExitOk;
  }
  const Record rec = run_to_shrink(a);
  const RunOptions recorded = recorded_options(rec, a.build_root, a.scenario_dirs, 0);
  const std::vector<Element> all = elements_of(recorded.injection);
  if (all.empty()) {
    throw UsageError(fmt::format(
        "shrink: run {} had no fault, perturbation or nemesis to take away: there is nothing to "
        "shrink (run it with the faults you suspect, then shrink that run)",
        rec.run_id));
  }
  auto [plan, settings] = replay_plan(rec, recorded);  // checks the build and faults first
  if (!plan.scenario_protocol && !a.yes) {
    throw UsageError(
        fmt::format("shrink: {} runs a command of its own ({}): read it, and add --yes to run it",
                    rec.run_id, fmt::join(plan.argv, " ")));
  }
  if (a.out.empty()) a.out = "results/shrink-" + rec.scenario + ".jsonl";
  ResultsWriter writer(a.out);
  install_interrupt_handlers();
  Shrinker s(rec, a, writer);
  std::cout << fmt::format("shrinking {} ({} {} under {}): {} element{}, {} runs a trial\n",
                           rec.run_id, rec.scenario, rec.variant, rec.sanitizer, all.size(),
                           all.size() == 1 ? "" : "s", a.runs);
  if (!s.reproduces(all)) {
    std::cout << fmt::format(
        "the recorded configuration reproduced in fewer than {:.0f}% of {} runs: nothing to "
        "shrink from (try more --runs or a lower --rate)\n",
        100 * a.rate, a.runs);
    return g_stop.load() ? kExitInterrupted : kExitExpectationMissed;
  }
  const std::vector<Element> minimal = weaken(ddmin(all, s), s);
  const std::string command = minimal_command(rec, plan, recorded, minimal);
  const fs::path summary = fs::path(a.out).replace_extension(".shrink.json");
  write_summary(summary, rec, a, minimal, s, command);
  std::cout << fmt::format(
      "minimal: {} (from {}; {} trials, {} runs{})\nsummary written to {}; trial runs appended to "
      "{}\n  {}\n",
      flags_of(minimal), flags_of(all), s.trials().size(), s.runs_made(),
      s.trials().size() >= a.max_trials ? ", stopped at --max-trials" : "", summary.string(), a.out,
      command);
  return g_stop.load() ? kExitInterrupted : kExitOk;
}

}  // namespace faultline::cli
