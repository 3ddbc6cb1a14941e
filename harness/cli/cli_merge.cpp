// faultline merge: the shard files of one campaign as one results file, checked complete and
// consistent first (docs/scale-out.md).
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "harness/cli/cli.h"
#include "harness/judge/summary.h"
#include "harness/record/experiment_key.h"
#include "harness/record/results_file.h"

namespace faultline::cli {
namespace po = boost::program_options;

namespace {

struct Sourced {
  Record record;
  std::string file;
};

// Every record of every file; a torn record stops the merge (its shard should be resumed).
std::vector<Sourced> read_shards(const std::vector<std::string>& files) {
  std::vector<Sourced> all;
  for (const auto& f : files) {
    std::vector<std::string> warnings;
    std::vector<Record> records;
    std::error_code ec;
    // A shard whose slice holds no run leaves an empty file: nothing to merge, nothing wrong.
    if (std::filesystem::is_regular_file(f, ec) && std::filesystem::file_size(f, ec) == 0 && !ec) {
      continue;
    }
    try {
      records = read_records(f, &warnings);
    } catch (const ResultsFileError& e) {
      throw UsageError(e.what());
    }
    if (!warnings.empty()) {
      throw UsageError(
          fmt::format("{}: run that shard again with --resume to finish the torn run, then merge",
                      warnings[0]));
    }
    for (auto& r : records) all.push_back({std::move(r), f});
  }
  return all;
}

// The campaign every record belongs to; one that is not from a sweep, or of another campaign,
// is refused.
const RecordedCampaign& one_campaign(const std::vector<Sourced>& all) {
  const Sourced& first = all.front();
  for (const auto& s : all) {
    if (!s.record.campaign) {
      throw UsageError(fmt::format(
          "{}: run {} is not from a sweep (it has no campaign): merge takes the shard files of "
          "one faultline sweep",
          s.file, s.record.run_id));
    }
    const RecordedCampaign& c = *s.record.campaign;
    const RecordedCampaign& want = *first.record.campaign;
    if (c.id != want.id) {
      throw UsageError(fmt::format(
          "{} holds campaign {} (base seed {} from {}) and {} campaign {} (base seed {} from {}): "
          "merge the shards of one campaign at a time",
          first.file, want.id, want.base_seed, want.seed_from, s.file, c.id, c.base_seed,
          c.seed_from));
    }
    if (c.shard_count != want.shard_count) {
      throw UsageError(fmt::format(
          "{} has shards of {} and {} shards of {}: the campaign was split two ways; merge one",
          first.file, want.shard_count, s.file, c.shard_count));
    }
  }
  return *first.record.campaign;
}

// A build field of a record as text ("-" when absent).
std::string build_field(const Sourced& s, const char* name) {
  auto it = s.record.build.find(name);
  return it == s.record.build.end() ? std::string("-") : it->dump();
}

// One build: everywhere the same source revision, and per sanitizer the same compiler, flags
// and build type.
void one_build(const std::vector<Sourced>& all) {
  std::map<std::string, const Sourced*> per_sanitizer;
  auto same = [](const Sourced& a, const Sourced& b, const char* name) {
    if (build_field(a, name) == build_field(b, name)) return;
    throw UsageError(
        fmt::format("{} was built with {} {} and {} with {}: merge shards of one build", a.file,
                    name, build_field(a, name), b.file, build_field(b, name)));
  };
  for (const auto& s : all) {
    for (const char* name : {"git_revision", "git_dirty"}) same(all.front(), s, name);
    auto [at, fresh] = per_sanitizer.emplace(s.record.sanitizer, &s);
    if (fresh) continue;
    for (const char* name : {"compiler", "flags", "build_type"}) same(*at->second, s, name);
  }
}

struct Tally {
  std::size_t duplicates = 0;  // the same run id twice: a retried shard's file given twice, say
  std::size_t reruns = 0;      // another run of a key already merged: the first is kept
};

// The records to write: each run id once, each key once (the first seen).
std::vector<const Sourced*> unique_runs(const std::vector<Sourced>& all, Tally& t) {
  std::set<std::string> ids, keys;
  std::vector<const Sourced*> kept;
  for (const auto& s : all) {
    if (!ids.insert(s.record.run_id).second) {
      ++t.duplicates;
      continue;
    }
    if (!keys.insert(run_key_of(s.record)).second) {
      ++t.reruns;
      continue;
    }
    kept.push_back(&s);
  }
  return kept;
}

// Each record against the plan: a run of the sweep, in its shard, with its seed.
void check_against_plan(const std::vector<const Sourced*>& kept,
                        const std::map<std::string, CampaignRun>& plan) {
  for (const Sourced* s : kept) {
    const std::string key = run_key_of(s->record);
    auto it = plan.find(key);
    if (it == plan.end()) {
      throw UsageError(fmt::format("{}: run {} ({}) is not a run of the campaign's sweep", s->file,
                                   s->record.run_id, key));
    }
    if (it->second.seed != s->record.seed) {
      throw UsageError(fmt::format(
          "{}: run {} has seed {} where the campaign gives {}: the shard was not run by this "
          "faultline's seed rule",
          s->file, key, s->record.seed, it->second.seed));
    }
    if (it->second.shard != s->record.campaign->shard_index) {
      throw UsageError(fmt::format("{}: run {} says shard {} where the campaign puts it in {}",
                                   s->file, key, s->record.campaign->shard_index,
                                   it->second.shard));
    }
  }
}

// The runs of the plan that no record holds, said shard by shard on stderr; their number.
std::size_t report_missing(const RecordedCampaign& c, const std::vector<CampaignRun>& plan,
                           const std::set<std::string>& have) {
  std::map<std::uint64_t, std::pair<std::size_t, std::vector<std::string>>> per_shard;
  for (const auto& run : plan) {
    auto& [planned, missing] = per_shard[run.shard];
    ++planned;
    if (!have.count(run.key)) missing.push_back(run.key);
  }
  std::size_t total = 0;
  for (const auto& [shard, entry] : per_shard) {
    const auto& [planned, missing] = entry;
    total += missing.size();
    if (missing.empty()) continue;
    if (missing.size() == planned) {
      std::cerr << fmt::format("missing: shard {}/{}: all {} of its runs (no file of it given?)\n",
                               shard, c.shard_count, planned);
      continue;
    }
    std::cerr << fmt::format("missing: shard {}/{}: {} of its {} runs:", shard, c.shard_count,
                             missing.size(), planned);
    for (std::size_t i = 0; i < missing.size() && i < 5; ++i) std::cerr << " " << missing[i];
    std::cerr << (missing.size() > 5 ? fmt::format(" and {} more\n", missing.size() - 5) : "\n");
  }
  return total;
}

// The campaign's runs planned again here from its definition, checked to be the plan it ran.
std::vector<CampaignRun> replan(const RecordedCampaign& c, const std::string& build_root,
                                const std::vector<std::string>& scenario_dirs) {
  if (canonical_sweep_words(c.sweep) != c.sweep) {
    throw UsageError(fmt::format(
        "campaign {}: its sweep definition does not read back the same with this faultline: "
        "merge with the faultline that ran it",
        c.id));
  }
  std::vector<CampaignRun> plan = plan_campaign(c, build_root, scenario_dirs);
  if (plan.size() != c.planned_runs) {
    throw UsageError(fmt::format(
        "campaign {} planned {} runs; its sweep plans {} here: merge with the build that ran it",
        c.id, c.planned_runs, plan.size()));
  }
  return plan;
}

const char* const kMergeUsage =
    "usage: faultline merge SHARD-FILES... -o all.jsonl\n\n"
    "Merges the shard files of one sweep campaign (faultline sweep --shard, on any machines)\n"
    "into one results file, after checking that every record is of one campaign (base seed\n"
    "and sweep definition) and one build, that each is a run of the sweep with the seed and\n"
    "shard the campaign gives it, and that no run is missing: the sweep is planned again here\n"
    "from its definition, so merge needs the scenarios of the build (--build-root). A run id\n"
    "seen twice (a shard's file given twice) is kept once; a second run of a key (a shard run\n"
    "again without --resume) is dropped, the first kept. Exit codes: 0 merged and complete, 2\n"
    "bad input or an inconsistent or incomplete set (nothing written), 3 merged with runs\n"
    "missing (--allow-missing). See docs/scale-out.md.\n\n"
    "example:\n  faultline merge results/x-sweep-shard*of4.jsonl -o results/x-all.jsonl\n\noptions";

}  // namespace

int merge(const Args& args) {
  std::vector<std::string> files;
  std::string out, build_root;
  bool allow_missing = false;
  po::options_description desc(kMergeUsage);
  desc.add_options()("help,h", "this text")("out,o", po::value(&out)->value_name("FILE"),
                                            "the merged file to write")(
      "build-root", po::value(&build_root)->value_name("DIR"),
      "the folder of the builds whose scenarios plan the sweep again (default: this faultline's)")(
      "allow-missing", po::bool_switch(&allow_missing),
      "write what is there when runs are missing, and exit 3");
  std::vector<std::string> scenario_dirs;
  add_scenario_dirs_option(desc, scenario_dirs);
  auto vm = parse("merge", args, desc, "files", po::value(&files)->composing(), -1);
  if (vm.count("help")) {
    std::cout << desc;
    return kExitOk;
  }
  if (files.empty()) {
    throw UsageError(
        "merge: name the shard files, e.g. faultline merge shard-*.jsonl -o all.jsonl");
  }
  if (out.empty()) throw UsageError("merge: name the file to write with -o, e.g. -o all.jsonl");
  const std::vector<Sourced> all = read_shards(files);
  if (all.empty()) throw UsageError("merge: the files hold no records");
  const RecordedCampaign& c = one_campaign(all);
  one_build(all);
  const std::vector<CampaignRun> plan = replan(c, build_root, scenario_dirs);
  Tally t;
  const std::vector<const Sourced*> kept = unique_runs(all, t);
  std::map<std::string, CampaignRun> by_key;
  for (const auto& run : plan) by_key.emplace(run.key, run);
  check_against_plan(kept, by_key);
  std::set<std::string> have;
  for (const Sourced* s : kept) have.insert(run_key_of(s->record));
  const std::size_t missing = report_missing(c, plan, have);
  if (missing > 0 && !allow_missing) {
    throw UsageError(fmt::format(
        "merge: {} of the campaign's {} runs are missing (listed above): run those shards "
        "(again, with --resume), or give --allow-missing to merge what is there",
        missing, plan.size()));
  }
  std::string text;
  for (const Sourced* s : kept) text += record_to_json(s->record).dump() + "\n";
  write_whole(out, text);
  std::cout << fmt::format(
      "merged {} runs of campaign {} (base seed {} from {}; {} shards) from {} file{} into "
      "{}{}{}{}\n",
      kept.size(), c.id, c.base_seed, c.seed_from, c.shard_count, files.size(),
      files.size() == 1 ? "" : "s", out,
      t.duplicates ? fmt::format("; {} duplicate records dropped", t.duplicates) : "",
      t.reruns ? fmt::format("; {} second runs of a key dropped", t.reruns) : "",
      missing ? fmt::format("; {} runs missing", missing) : "");
  return missing > 0 ? kExitUnknownRuns : kExitOk;
}

}  // namespace faultline::cli
