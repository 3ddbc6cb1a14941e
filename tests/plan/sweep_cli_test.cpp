// `faultline sweep` end to end on the sweep-probe scenario in a fake build root: interrupted for
// real (SIGINT, then SIGKILL of the driver) and resumed, sharded, and read from a sweep file.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "harness/plan/campaign.h"
#include "harness/record/experiment_key.h"
#include "harness/record/results_file.h"
#include "tests/driver/raw_records.h"

extern char** environ;

namespace {
namespace fs = std::filesystem;

using faultline::test_support::raw_records;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::size_t lines_in(const fs::path& p) {
  const std::string s = slurp(p);
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

class SweepCli : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("fl_sweep_cli_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "release" / "scenarios");
    fs::create_symlink(PROBE_BIN, root_ / "release" / "scenarios" / "sweep-probe");
  }
  void TearDown() override { fs::remove_all(root_); }

  // Starts `faultline ARGS --build-root ROOT`, output to files in ROOT; returns the pid.
  pid_t start(std::vector<std::string> args) {
    args.insert(args.begin(), FAULTLINE_BIN);
    args.push_back("--build-root");
    args.push_back(root_.string());
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, (root_ / "stdout").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, (root_ / "stderr").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    EXPECT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    return pid;
  }
  // Returns the exit code, or 128 + signal.
  int wait_for(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  int run(std::vector<std::string> args) { return wait_for(start(std::move(args))); }
  // Waits until the results file has at least n records (no time is asserted: the deadline
  // only keeps a broken driver from hanging the test).
  void await_records(const fs::path& out, std::size_t n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (lines_in(out) < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_GE(lines_in(out), n);
  }

  fs::path root_;
};

// 3 points x 2 variants x 4 repeats = 24 runs of 300 ms each, two at a time.
const std::vector<std::string> kSweep = {"sweep",    "sweep-probe", "--grid", "level=0,50,100",
                                         "--repeat", "4",           "--jobs", "2"};

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST_F(SweepCli, InterruptedBySigintAndSigkillThenResumedLosesAndRepeatsNothing) {
  const fs::path out = root_ / "sweep.jsonl";
  // 1. Ctrl-C after a few runs: the driver stops, keeps what finished, exits 130.
  pid_t pid = start(with(kSweep, {"--seed", "500", "--out", out.string()}));
  await_records(out, 3);
  ::kill(pid, SIGINT);
  EXPECT_EQ(wait_for(pid), 130) << slurp(root_ / "stdout");
  const std::size_t after_sigint = lines_in(out);
  EXPECT_LT(after_sigint, 24u);
  EXPECT_NE(slurp(root_ / "stdout").find("--resume"), std::string::npos);  // says how to go on
  // ... with a command that runs as printed: the driver as it was started, not a bare name.
  EXPECT_NE(slurp(root_ / "stdout").find(std::string("continue with: ") + FAULTLINE_BIN + " sweep"),
            std::string::npos)
      << slurp(root_ / "stdout");

  // 2. Resume (no --seed: it comes from the file), then SIGKILL the driver: no chance to clean up.
  pid = start(with(kSweep, {"--resume", "--out", out.string()}));
  await_records(out, after_sigint + 3);
  ::kill(pid, SIGKILL);
  EXPECT_EQ(wait_for(pid), 128 + SIGKILL);
  const std::size_t after_sigkill = lines_in(out);
  EXPECT_LT(after_sigkill, 24u);

  // 3. Resume to the end.
  EXPECT_EQ(run(with(kSweep, {"--resume", "--out", out.string()})), 0)
      << slurp(root_ / "stdout") << slurp(root_ / "stderr");
  EXPECT_NE(slurp(root_ / "stdout").find("resuming: " + std::to_string(after_sigkill)),
            std::string::npos)
      << slurp(root_ / "stdout");

  // Every run exactly once, each with the seed the first invocation chose.
  auto records = raw_records(out);
  ASSERT_EQ(records.size(), 24u);
  std::set<std::string> keys;
  for (const auto& r : records) {
    EXPECT_TRUE(keys.insert(r["key"].get<std::string>()).second) << "twice: " << r["key"];
    // The seed rule of harness/plan/campaign.h, from the base seed of the first invocation.
    EXPECT_EQ(r["campaign"]["base_seed"].get<std::uint64_t>(), 500u);
    faultline::ExperimentKey point = faultline::experiment_key_of(faultline::record_from_json(r));
    point.variant.clear();
    point.sanitizer.clear();
    EXPECT_EQ(r["seed"].get<std::uint64_t>(),
              faultline::derive_seed(500, point.id(), r["repeat_index"].get<std::uint64_t>()));
  }
  for (const char* level : {"0", "50", "100"}) {
    for (const char* variant : {"buggy", "fixed"}) {
      for (int i = 0; i < 4; ++i) {
        const std::string key = std::string("sweep-probe|") + variant +
                                "|none|latency-ms=2.0,level=" + level + ",sleep-ms=300|r" +
                                std::to_string(i);
        EXPECT_TRUE(keys.count(key)) << "lost: " << key;
      }
    }
  }

  // Nothing left: a further resume runs nothing and still reports the whole sweep.
  EXPECT_EQ(run(with(kSweep, {"--resume", "--out", out.string()})), 0);
  EXPECT_NE(slurp(root_ / "stdout").find("nothing left to run"), std::string::npos);
  // The table judges every point: at level=0 the buggy probe never reproduces, a miss there,
  // while the sweep as a whole meets the expectation (it reproduced at level=50 and 100).
  // Rows name the swept axis only; what every row shares is said once above them.
  const std::string table = slurp(root_ / "stdout");
  EXPECT_NE(table.find(" level=0 "), std::string::npos) << table;
  const std::size_t shared = table.find("every row: ");
  ASSERT_NE(shared, std::string::npos) << table;
  EXPECT_NE(table.substr(shared, table.find('\n', shared) - shared).find("sleep-ms=300"),
            std::string::npos)
      << table;
  EXPECT_EQ(table.find("level=0,"), std::string::npos) << table;
  EXPECT_NE(slurp(root_ / "stdout").find("missed"), std::string::npos) << slurp(root_ / "stdout");
  EXPECT_EQ(lines_in(out), 24u);
}

TEST_F(SweepCli, ShardsAreDisjointAndTogetherTheWholeSweep) {
  const std::vector<std::string> sweep = {
      "sweep",        "sweep-probe", "--grid", "level=0,50,100", "--grid",
      "sleep-ms=0,1", "--repeat",    "3",      "--seed",         "9"};
  std::multiset<std::string> sharded;
  for (int i = 0; i < 3; ++i) {
    const fs::path out = root_ / ("shard" + std::to_string(i) + ".jsonl");
    int code = run(with(sweep, {"--shard", std::to_string(i) + "/3", "--out", out.string()}));
    EXPECT_TRUE(code == 0 || code == 1) << slurp(root_ / "stderr");  // a slice may lack a buggy
    if (fs::exists(out) && fs::file_size(out) > 0) {
      for (const auto& r : raw_records(out)) sharded.insert(r["key"]);
    }
  }
  const fs::path whole = root_ / "whole.jsonl";
  EXPECT_EQ(run(with(sweep, {"--out", whole.string()})), 0);
  std::multiset<std::string> all;
  for (const auto& r : raw_records(whole)) all.insert(r["key"]);
  EXPECT_EQ(all.size(), 36u);
  EXPECT_EQ(sharded, all);  // a multiset: equal also means no key came from two shards
}

TEST_F(SweepCli, SweepFileAndCommandLineTogether) {
  const fs::path file = root_ / "probe.sweep";
  std::ofstream(file) << "# a sweep file\nscenario sweep-probe\ngrid level=0,100\n"
                         "set sleep-ms=0\nvariant buggy\nrepeat 2\nseed 3\n";
  const fs::path out = root_ / "f.jsonl";
  // The command line adds an axis and overrides the repeat count.
  EXPECT_EQ(run({"sweep", "--file", file.string(), "--grid", "latency-ms=1,2", "--repeat", "3",
                 "--out", out.string()}),
            0)
      << slurp(root_ / "stderr");
  auto records = raw_records(out);
  EXPECT_EQ(records.size(), 2u * 2u * 3u);
  for (const auto& r : records) {
    EXPECT_EQ(r["variant"], "buggy");
    EXPECT_EQ(r["params"]["sleep-ms"], "0");
  }
}

TEST_F(SweepCli, BadInputIsRefusedBeforeAnythingRuns) {
  const fs::path out = root_ / "bad.jsonl";
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const Case cases[] = {
      {{"sweep", "sweep-probe", "--grid", "level=5,500"}, "level"},
      {{"sweep", "sweep-probe", "--grid", "nosuch=1"}, "nosuch"},
      {{"sweep", "sweep-probe", "--grid", "level"}, "is not key=v1,v2"},
      {{"sweep", "sweep-probe", "--grid", "level=1", "--set", "level=2"}, "both swept"},
      {{"sweep", "sweep-probe", "--shard", "3/3", "--seed", "1"}, "numbered from 0 to 2"},
      {{"sweep", "sweep-probe", "--shard", "0/3"}, "--shard needs a base seed"},
      {{"sweep", "sweep-probe", "--shard", "env"}, "neither SLURM_ARRAY_TASK_ID"},
      {{"sweep", "sweep-probe", "--sanitizer", "none,msan"}, "unknown sanitizer 'msan'"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(run(with(c.args, {"--out", out.string()})), 2) << c.message;
    EXPECT_NE(slurp(root_ / "stderr").find(c.message), std::string::npos)
        << slurp(root_ / "stderr");
  }
  EXPECT_FALSE(fs::exists(out) && fs::file_size(out) > 0);

  // Resuming with a different seed than the one the file's runs used.
  EXPECT_EQ(
      run({"sweep", "sweep-probe", "--grid", "sleep-ms=0", "--seed", "1", "--out", out.string()}),
      0);
  EXPECT_EQ(run({"sweep", "sweep-probe", "--grid", "sleep-ms=0", "--repeat", "2", "--seed", "2",
                 "--resume", "--out", out.string()}),
            2);
  EXPECT_NE(slurp(root_ / "stderr").find("differs from base seed 1"), std::string::npos)
      << slurp(root_ / "stderr");
}

// A copy of `from` with each record changed by `edit`, one JSON line each.
void rewrite(const fs::path& from, const fs::path& to,
             const std::function<void(nlohmann::json&)>& edit) {
  std::ofstream o(to);
  for (auto r : raw_records(from)) {
    edit(r);
    o << r.dump() << "\n";
  }
}

TEST_F(SweepCli, MergeTakesTheShardsOfOneCampaignCompleteAndNothingElse) {
  const std::vector<std::string> sweep = {"sweep",  "sweep-probe", "--grid",     "level=0,100",
                                          "--grid", "sleep-ms=0",  "--repeat",   "3",
                                          "--jobs", "2",           "--campaign", "merge-test"};
  std::vector<fs::path> shards;
  std::size_t biggest = 0;
  for (int i = 0; i < 3; ++i) {
    const fs::path out = root_ / ("shard" + std::to_string(i) + ".jsonl");
    const int code = run(with(sweep, {"--shard", std::to_string(i) + "/3", "--out", out.string()}));
    EXPECT_TRUE(code == 0 || code == 1) << slurp(root_ / "stderr");
    if (!fs::exists(out)) continue;
    if (lines_in(out) > (shards.empty() ? 0 : lines_in(shards[biggest]))) biggest = shards.size();
    shards.push_back(out);
  }
  ASSERT_FALSE(shards.empty());
  const fs::path whole = root_ / "whole.jsonl", merged = root_ / "all.jsonl";
  EXPECT_EQ(run(with(sweep, {"--out", whole.string()})), 0) << slurp(root_ / "stderr");
  auto merge = [&](std::vector<fs::path> files, const fs::path& out) {
    std::vector<std::string> args = {"merge", "-o", out.string()};
    for (const auto& f : files) args.push_back(f.string());
    return run(args);
  };
  ASSERT_EQ(merge(shards, merged), 0) << slurp(root_ / "stderr");
  // The campaign run as shards is the campaign run whole: the same runs with the same seeds.
  auto runs = [](const fs::path& f) {
    std::set<std::pair<std::string, std::uint64_t>> out;
    for (const auto& r : raw_records(f)) out.emplace(r["key"], r["seed"]);
    return out;
  };
  EXPECT_EQ(runs(merged), runs(whole));
  EXPECT_EQ(runs(merged).size(), 12u);

  // A shard's file given twice is merged once.
  std::vector<fs::path> twice = shards;
  twice.push_back(shards[biggest]);
  EXPECT_EQ(merge(twice, merged), 0);
  EXPECT_NE(slurp(root_ / "stdout").find("duplicate records dropped"), std::string::npos);
  EXPECT_EQ(runs(merged).size(), 12u);

  // Every bad set: exit 2, a line naming the problem, and no file written.
  const fs::path out = root_ / "refused.jsonl";
  auto refused = [&](std::vector<fs::path> files, const std::string& why) {
    EXPECT_EQ(merge(files, out), 2) << why;
    EXPECT_NE(slurp(root_ / "stderr").find(why), std::string::npos) << slurp(root_ / "stderr");
    EXPECT_FALSE(fs::exists(out)) << why;
  };
  std::vector<fs::path> missing = shards;
  missing.erase(missing.begin() + static_cast<std::ptrdiff_t>(biggest));
  refused(missing, "runs are missing");

  const fs::path other = root_ / "other.jsonl";
  auto other_campaign = sweep;
  other_campaign.back() = "another-campaign";
  EXPECT_LE(run(with(other_campaign, {"--out", other.string()})), 1);
  refused({shards[biggest], other}, "merge the shards of one campaign");

  const fs::path single = root_ / "single.jsonl";
  EXPECT_LE(run({"run", "sweep-probe", "--variant", "buggy", "--out", single.string()}), 1);
  refused({shards[biggest], single}, "is not from a sweep");

  auto tampered = [&](const char* name, const std::function<void(nlohmann::json&)>& edit) {
    std::vector<fs::path> files = shards;
    files[biggest] = root_ / name;
    rewrite(shards[biggest], files[biggest], edit);
    return files;
  };
  refused(tampered("build.jsonl", [](nlohmann::json& r) { r["build"]["git_revision"] = "0123"; }),
          "merge shards of one build");
  refused(tampered("seed.jsonl",
                   [](nlohmann::json& r) { r["seed"] = r["seed"].get<std::uint64_t>() + 1; }),
          "where the campaign gives");

  const fs::path torn = root_ / "torn.jsonl";
  fs::copy_file(shards[biggest], torn);
  std::ofstream(torn, std::ios::app) << R"({"schema_version":2,"run_id":)";
  std::vector<fs::path> with_torn = shards;
  with_torn[biggest] = torn;
  refused(with_torn, "torn last line");
  refused({}, "name the shard files");
}

TEST_F(SweepCli, ProgressGoesToStderrAndStdoutHoldsThePlanAndTheTable) {
  const fs::path out = root_ / "sweep.jsonl";
  ASSERT_EQ(run({"sweep", "sweep-probe", "--grid", "level=100", "--repeat", "2", "--seed", "3",
                 "--out", out.string()}),
            0);
  const std::string so = slurp(root_ / "stdout"), se = slurp(root_ / "stderr");
  // Not a terminal: one progress line per run, on stderr; the plan, table and file on stdout.
  EXPECT_NE(se.find("[1/4] failed"), std::string::npos) << se;
  EXPECT_NE(se.find("[4/4] failed"), std::string::npos) << se;
  EXPECT_EQ(so.find("] failed"), std::string::npos) << so;
  EXPECT_NE(so.find("sweep-probe: 1 points"), std::string::npos) << so;
  EXPECT_NE(so.find("4 new records appended"), std::string::npos) << so;
  EXPECT_EQ(so.find('\x1b'), std::string::npos);
  EXPECT_EQ(se.find('\x1b'), std::string::npos);
}

}  // namespace
