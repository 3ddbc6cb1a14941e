// The pure pieces of a sweep: grid expansion, run keys, shards, the sweep file, resume state,
// the default parallelism and the progress line.
#include "harness/plan/sweep.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "harness/plan/campaign.h"
#include "harness/record/experiment_key.h"

namespace faultline {
namespace {

TEST(Grid, ParsesAxes) {
  GridAxis a = parse_grid_axis("timeout-ms=1, 5,20,5");
  EXPECT_EQ(a.key, "timeout-ms");
  EXPECT_EQ(a.values, (std::vector<std::string>{"1", "5", "20"}));  // the repeated 5 dropped
  EXPECT_THROW(parse_grid_axis("timeout-ms"), UsageError);
  EXPECT_THROW(parse_grid_axis("=1,2"), UsageError);
  EXPECT_THROW(parse_grid_axis("workers=1,,2"), UsageError);
}

TEST(Grid, ExpandsToTheCartesianProduct) {
  auto points =
      expand_grid({parse_grid_axis("concurrency=10,100,1000"), parse_grid_axis("timeout-ms=1,5")});
  ASSERT_EQ(points.size(), 6u);
  EXPECT_EQ(points.front(), (std::vector<std::string>{"concurrency=10", "timeout-ms=1"}));
  EXPECT_EQ(points[1], (std::vector<std::string>{"concurrency=10", "timeout-ms=5"}));
  EXPECT_EQ(points.back(), (std::vector<std::string>{"concurrency=1000", "timeout-ms=5"}));
  EXPECT_EQ(expand_grid({}).size(), 1u);  // no grid: one point, the defaults
  std::vector<GridAxis> grid = {parse_grid_axis("a=1")};
  EXPECT_THROW(add_axes(grid, {parse_grid_axis("a=2")}), UsageError);
}

RunPlan plan(std::map<std::string, std::string> params, std::string variant, std::uint64_t r) {
  RunPlan p;
  p.scenario = "rpc-timeout-race";
  p.variant = std::move(variant);
  p.sanitizer = Sanitizer::kTsan;
  p.params = std::move(params);
  p.repeat_index = r;
  return p;
}

TEST(Keys, AreDeterministicAndIgnoreParameterOrder) {
  RunPlan p = plan({{"timeout-ms", "5"}, {"concurrency", "100"}}, "buggy", 3);
  EXPECT_EQ(run_key(p, {}), "rpc-timeout-race|buggy|tsan|concurrency=100,timeout-ms=5|r3");
  p.seed = 12345;  // the seed is not part of the identity
  EXPECT_EQ(run_key(p, {}), "rpc-timeout-race|buggy|tsan|concurrency=100,timeout-ms=5|r3");
}

// Keys of a whole sweep: points x variants x repeats, the axes in the order given.
std::vector<std::string> sweep_keys(const std::vector<GridAxis>& grid, std::uint64_t repeat) {
  std::vector<std::string> keys;
  for (const auto& point : expand_grid(grid)) {
    std::map<std::string, std::string> params;
    for (const auto& kv : point) params[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
    for (const char* variant : {"buggy", "fixed"}) {
      for (std::uint64_t r = 0; r < repeat; ++r)
        keys.push_back(run_key(plan(params, variant, r), {}));
    }
  }
  return keys;
}

TEST(Shards, PartitionTheSweepWhateverTheFlagOrder) {
  const auto grid = std::vector<GridAxis>{parse_grid_axis("concurrency=10,100,1000"),
                                          parse_grid_axis("timeout-ms=1,5,20")};
  const auto keys = sweep_keys(grid, 10);  // 180 runs
  const auto reversed = sweep_keys({grid[1], grid[0]}, 10);
  ASSERT_EQ(keys.size(), 180u);
  for (std::uint64_t n : {1u, 2u, 3u, 4u, 7u}) {
    std::set<std::string> seen;
    std::size_t total = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
      std::set<std::string> slice, slice_reversed;
      for (const auto& k : keys) {
        if (in_shard(k, {i, n})) slice.insert(k);
      }
      for (const auto& k : reversed) {
        if (in_shard(k, {i, n})) slice_reversed.insert(k);
      }
      EXPECT_EQ(slice, slice_reversed) << "shard " << i << "/" << n;
      for (const auto& k : slice) EXPECT_TRUE(seen.insert(k).second) << "in two shards: " << k;
      total += slice.size();
      if (n <= 4) {
        EXPECT_GT(slice.size(), 0u);
      }
    }
    EXPECT_EQ(total, keys.size());
    EXPECT_EQ(seen, std::set<std::string>(keys.begin(), keys.end()));
  }
  // The hash is fixed by definition (FNV-1a), so shards agree across machines and builds.
  EXPECT_EQ(stable_hash(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(stable_hash("a"), 0xaf63dc4c8601ec8cull);
}

TEST(Shards, ParseChecksTheRange) {
  Shard s = parse_shard("2/4");
  EXPECT_EQ(s.index, 2u);
  EXPECT_EQ(s.count, 4u);
  EXPECT_THROW(parse_shard("4/4"), UsageError);
  EXPECT_THROW(parse_shard("1/0"), UsageError);
  EXPECT_THROW(parse_shard("1-4"), UsageError);
  EXPECT_THROW(parse_shard("x/4"), UsageError);
}

TEST(Order, RepeatZeroOfEveryPointFirst) {
  std::vector<RunPlan> plans;
  for (const char* c : {"10", "100"}) {
    for (std::uint64_t r = 0; r < 3; ++r) plans.push_back(plan({{"concurrency", c}}, "buggy", r));
  }
  order_for_sweep(plans);
  EXPECT_EQ(plans[0].params["concurrency"], "10");
  EXPECT_EQ(plans[1].params["concurrency"], "100");
  EXPECT_EQ(plans[1].repeat_index, 0u);
  EXPECT_EQ(plans[2].repeat_index, 1u);
  EXPECT_EQ(plans[5].repeat_index, 2u);
}

TEST(SweepFile, ReadsEveryDirective) {
  const auto path = std::filesystem::temp_directory_path() / "faultline_sweep_file_test.txt";
  std::ofstream(path) << "# the rpc sweep\n"
                         "scenario rpc-timeout-race\n"
                         "grid concurrency=10,100,1000   # load\n"
                         "grid timeout-ms=1,5,20\n"
                         "set payload-bytes=64\n"
                         "\n"
                         "variant buggy,fixed\n"
                         "sanitizer none,tsan\n"
                         "repeat 20\n"
                         "seed 42\n"
                         "timeout 30\n";
  SweepDefinition d = parse_sweep_file(path);
  EXPECT_EQ(d.scenario, "rpc-timeout-race");
  ASSERT_EQ(d.grid.size(), 2u);
  EXPECT_EQ(d.grid[0].values, (std::vector<std::string>{"10", "100", "1000"}));
  EXPECT_EQ(d.sets, (std::vector<std::string>{"payload-bytes=64"}));
  EXPECT_EQ(*d.variants, "buggy,fixed");
  EXPECT_EQ(parse_sanitizer_list(*d.sanitizers),
            (std::vector<Sanitizer>{Sanitizer::kNone, Sanitizer::kTsan}));
  EXPECT_EQ(*d.repeat, 20u);
  EXPECT_EQ(*d.seed, 42u);
  EXPECT_DOUBLE_EQ(*d.timeout_s, 30);

  std::ofstream(path) << "scenario x\nrepeats 3\n";
  try {
    parse_sweep_file(path);
    FAIL() << "a misspelt directive must be refused";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string() + ":2: unknown directive 'repeats'"),
              std::string::npos)
        << e.what();
  }
  std::ofstream(path) << "repeat many\n";
  EXPECT_THROW(parse_sweep_file(path), UsageError);
  std::filesystem::remove(path);
  EXPECT_THROW(parse_sweep_file(path), UsageError);  // missing file
}

TEST(Resume, FindsDoneKeysAndTheBaseSeed) {
  // The key is recomputed from the record's fields (so older records resume too); the stored
  // one is not read.
  auto record = [](std::string key, std::uint64_t seed, std::uint64_t repeat) {
    std::vector<std::string> f;
    for (std::size_t pos = 0;;) {
      std::size_t bar = key.find('|', pos);
      f.push_back(key.substr(pos, bar == std::string::npos ? bar : bar - pos));
      if (bar == std::string::npos) break;
      pos = bar + 1;
    }
    Record r;
    r.key = "stale";
    r.scenario = f[0];
    r.variant = f[1];
    r.sanitizer = f[2];
    if (!f[3].empty()) r.params[f[3].substr(0, f[3].find('='))] = f[3].substr(f[3].find('=') + 1);
    r.seed = seed;
    r.repeat_index = repeat;
    return r;
  };
  std::set<std::string> sweep = {"s|buggy|none|a=1|r0", "s|buggy|none|a=1|r1",
                                 "s|buggy|none|a=2|r0"};
  ResumeState state =
      scan_for_resume({record("s|buggy|none|a=1|r1", 43, 1), record("other|buggy|none||r0", 7, 0),
                       record("s|buggy|none|a=2|r0", 42, 0)},
                      sweep);
  EXPECT_EQ(state.done_keys, (std::set<std::string>{"s|buggy|none|a=1|r1", "s|buggy|none|a=2|r0"}));
  EXPECT_EQ(*state.base_seed, 42u);
  EXPECT_EQ(state.seed_disagreements, 0u);
  EXPECT_EQ(state.records_outside_sweep, 1u);
  EXPECT_FALSE(scan_for_resume({}, sweep).base_seed.has_value());
}

TEST(Jobs, CoresCappedByMemory) {
  const std::uint64_t gib = 1ull << 30;
  EXPECT_EQ(default_sweep_jobs({Sanitizer::kNone}, 8, 64 * gib), 8);
  EXPECT_EQ(default_sweep_jobs({Sanitizer::kTsan}, 8, 16 * gib), 4);  // 4 GiB a TSan run
  EXPECT_EQ(default_sweep_jobs({Sanitizer::kNone, Sanitizer::kTsan}, 8, 16 * gib), 4);
  EXPECT_EQ(default_sweep_jobs({Sanitizer::kAsan}, 8, 3 * gib), 2);
  EXPECT_EQ(default_sweep_jobs({Sanitizer::kTsan}, 8, 1 * gib), 1);  // never fewer than one
  EXPECT_EQ(default_sweep_jobs({Sanitizer::kTsan}, 8, 0), 8);        // memory unknown
}

TEST(Progress, SaysDoneTotalFailuresAndEta) {
  EXPECT_EQ(progress_text(10, 100, 3, 1, 20),
            "[ 10/100] failed 3 unknown 1  elapsed 20s  eta 3m00s");
  EXPECT_EQ(progress_text(0, 5, 0, 0, 0), "[0/5] failed 0 unknown 0  elapsed 0s  eta ?");
  EXPECT_EQ(format_duration(3723), "1h02m03s");
}

}  // namespace
}  // namespace faultline

namespace faultline {
namespace {

// An environment for the campaign functions: a map instead of the process's.
struct FakeEnv {
  std::map<std::string, std::string> vars;
  EnvLookup lookup() const {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

TEST(SweepSeed, ResumeTakesTheFileSeedAndShardsNeedOneTheyAgreeOn) {
  auto fresh = [] { return std::uint64_t{777}; };
  const FakeEnv none;
  auto seed = [&](SeedSources s, const FakeEnv& env = {}) {
    s.out = "x.jsonl";
    return choose_base_seed(s, env.lookup(), fresh);
  };
  const Shard one{}, shard{1, 3};
  EXPECT_EQ(seed({true, 42, std::nullopt, "", one}).seed, 42u);
  EXPECT_EQ(seed({true, 42, std::nullopt, "", one}).from, "the runs in x.jsonl");
  EXPECT_EQ(seed({true, 42, 42, "", one}).seed, 42u);
  EXPECT_THROW(seed({true, 42, 7, "", one}), UsageError);
  // Nothing in the file yet: --seed, else a fresh one.
  EXPECT_EQ(seed({true, std::nullopt, 7, "", one}).seed, 7u);
  EXPECT_EQ(seed({false, 42, std::nullopt, "", one}).from, "generated");
  EXPECT_EQ(seed({false, 42, std::nullopt, "", one}).seed, 777u);
  EXPECT_EQ(seed({false, std::nullopt, 9, "", shard}).seed, 9u);
  // A campaign name, given or in the environment, or a Slurm array's id: the same everywhere.
  const BaseSeed named = seed({false, std::nullopt, std::nullopt, "nightly", shard});
  EXPECT_EQ(named.seed, campaign_seed("nightly"));
  EXPECT_EQ(named.from, "--campaign nightly");
  EXPECT_LT(named.seed, 1000000000u);
  EXPECT_NE(campaign_seed("nightly"), campaign_seed("nightly2"));
  EXPECT_EQ(
      seed({false, std::nullopt, std::nullopt, "", shard}, {{{"FAULTLINE_CAMPAIGN", "nightly"}}})
          .seed,
      named.seed);
  const BaseSeed slurm =
      seed({false, std::nullopt, std::nullopt, "", shard}, {{{"SLURM_ARRAY_JOB_ID", "4242"}}});
  EXPECT_EQ(slurm.from, "SLURM_ARRAY_JOB_ID=4242");
  EXPECT_EQ(slurm.seed, campaign_seed("slurm 4242"));
  try {
    seed({false, std::nullopt, std::nullopt, "", shard});
    FAIL() << "a shard without a base seed it agrees on must be refused";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--shard needs a base seed"), std::string::npos);
  }
  EXPECT_EQ(default_sweep_out("s", one), "results/s-sweep.jsonl");
  EXPECT_EQ(default_sweep_out("s", shard), "results/s-sweep-shard1of3.jsonl");
}

TEST(SweepSeed, ARunsSeedDependsOnTheBaseThePointAndTheRepeatOnly) {
  const std::string p = "s|||a=1", q = "s|||a=2";
  EXPECT_EQ(derive_seed(7, p, 0), derive_seed(7, p, 0));
  std::set<std::uint64_t> seen;
  for (std::uint64_t base : {7u, 8u}) {
    for (const auto* point : {&p, &q}) {
      for (std::uint64_t r = 0; r < 50; ++r) {
        const std::uint64_t s = derive_seed(base, *point, r);
        EXPECT_LT(s, std::uint64_t{1} << 53);
        seen.insert(s);
      }
    }
  }
  EXPECT_EQ(seen.size(), 200u);  // no two of them alike
  // Pinned to values a separate Python version of the rule (docs/scale-out.md) gives, so a change
  // of the rule, which would change every campaign's seeds, is seen.
  EXPECT_EQ(derive_seed(0, "", 0), 7434509188162293u);
  EXPECT_EQ(derive_seed(7, "s|||a=1", 3), 2118337123630032u);
}

TEST(ShardFromEnv, ASlurmArrayOrAnIndexedJobGivesTheShard) {
  auto shard = [](std::map<std::string, std::string> vars) {
    FakeEnv env{std::move(vars)};
    return shard_from_env(env.lookup());
  };
  const Shard s = shard({{"SLURM_ARRAY_TASK_ID", "3"},
                         {"SLURM_ARRAY_TASK_MIN", "1"},
                         {"SLURM_ARRAY_TASK_MAX", "4"},
                         {"SLURM_ARRAY_TASK_COUNT", "4"}});
  EXPECT_EQ(s.index, 2u);
  EXPECT_EQ(s.count, 4u);
  const Shard k = shard({{"JOB_COMPLETION_INDEX", "5"}, {"FAULTLINE_SHARD_COUNT", "8"}});
  EXPECT_EQ(k.index, 5u);
  EXPECT_EQ(k.count, 8u);
  auto refused = [&](std::map<std::string, std::string> vars, const std::string& why) {
    try {
      shard(std::move(vars));
      ADD_FAILURE() << "accepted: " << why;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  };
  refused({}, "neither SLURM_ARRAY_TASK_ID");
  refused({{"SLURM_ARRAY_TASK_ID", "0"}}, "not SLURM_ARRAY_TASK_COUNT");
  refused({{"SLURM_ARRAY_TASK_ID", "2"},
           {"SLURM_ARRAY_TASK_MIN", "0"},
           {"SLURM_ARRAY_TASK_MAX", "6"},
           {"SLURM_ARRAY_TASK_COUNT", "4"}},
          "is not contiguous");
  refused({{"SLURM_ARRAY_TASK_ID", "x"}}, "is not a whole number");
  refused({{"JOB_COMPLETION_INDEX", "1"}}, "FAULTLINE_SHARD_COUNT");
  refused({{"JOB_COMPLETION_INDEX", "8"}, {"FAULTLINE_SHARD_COUNT", "8"}}, "is not below");
}

}  // namespace
}  // namespace faultline
