// The faultline command line end to end: a fake build root holds the toy scenario, and every
// test runs the real `faultline` binary and checks what a user sees: exit code, messages and the
// records appended to the results file.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "harness/judge/summary.h"
#include "harness/record/results_file.h"
#include "harness/render/export.h"
#include "harness/run/runner.h"
#include "tests/driver/raw_records.h"

namespace faultline {
namespace {
namespace fs = std::filesystem;

using faultline::test_support::raw_records;

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("fl-cli-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "release" / "scenarios");
    fs::copy_file(TOY_SCENARIO_BIN, root_ / "release" / "scenarios" / "toy");
    out_ = root_ / "runs.jsonl";
  }
  void TearDown() override { fs::remove_all(root_); }

  Outcome faultline(std::vector<std::string> args, bool with_root = true) {
    RunRequest request;
    request.argv = {FAULTLINE_BIN};
    for (auto& a : args) request.argv.push_back(a);
    if (with_root) {
      request.argv.push_back("--build-root");
      request.argv.push_back(root_.string());
    }
    request.timeout = std::chrono::seconds(90);
    RunResult r = run_process(request);
    return {r.exit_code.value_or(-1), r.out.text, r.err.text};
  }
  std::vector<std::string> run_args(std::vector<std::string> extra) {
    std::vector<std::string> args = {"run", "toy", "--out", out_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  fs::path root_;
  fs::path out_;
};

TEST_F(CliTest, ListShowsVariantsAndParameters) {
  Outcome o = faultline({"list"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("toy  (seed none)"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("buggy, fixed, other"), std::string::npos);
  EXPECT_NE(o.out.find("sleep-ms"), std::string::npos);
}

TEST_F(CliTest, ListShowsExpectations) {
  Outcome o = faultline({"list"});
  EXPECT_NE(o.out.find("expectations:\n    buggy@*: incident toy_symptom"), std::string::npos)
      << o.out;
  o = faultline({"list", "--json"});
  auto j = nlohmann::json::parse(o.out);
  ASSERT_EQ(j[0]["expectations"].size(), 3u);
  EXPECT_EQ(j[0]["expectations"][1]["expect"], "clean");
  EXPECT_EQ(j[0]["observes"][0], "toy_symptom");
}

TEST_F(CliTest, JunitSummaryAndExitCodeAgree) {
  // Experiments that meet, miss and prove nothing, each its own `run` into one file.
  const std::vector<std::vector<std::string>> runs = {
      {"--variant", "buggy", "--repeat", "2"},                           // met
      {"--variant", "fixed", "--set", "action=clean"},                   // met
      {"--variant", "fixed", "--set", "action=segv"},                    // missed: unexpected crash
      {"--variant", "buggy", "--set", "action=clean"},                   // missed: not reproduced
      {"--variant", "fixed", "--set", "action=hang", "--timeout", "1"},  // unknown
      {"--variant", "other"}};                                           // not judged
  std::size_t from = 0;
  for (const auto& extra : runs) {
    Outcome o = faultline(run_args(extra));
    auto all = read_records(out_);
    std::vector<Record> mine(all.begin() + static_cast<long>(from), all.end());
    from = all.size();
    // The exit code of each run is the summary's over the same records.
    EXPECT_EQ(o.code, exit_code_for(summarise(mine))) << o.out;
  }
  auto records = read_records(out_);
  auto groups = summarise(records);
  const std::string summary = render_summary(groups);
  std::size_t misses = 0;
  for (std::size_t at = summary.find("  MISS "); at != std::string::npos;
       at = summary.find("  MISS ", at + 1)) {
    ++misses;
  }
  EXPECT_EQ(misses, 2u) << summary;
  const std::string xml = export_junit(records, "toy");
  EXPECT_NE(xml.find("failures=\"" + std::to_string(misses) + "\" errors=\"1\" skipped=\"1\""),
            std::string::npos)
      << xml.substr(0, 300);
  EXPECT_EQ(exit_code_for(groups), kExitExpectationMissed);
}

TEST_F(CliTest, ScoreRunsOrReadsTheDetectorMatrix) {
  const std::string score_out = (root_ / "score.jsonl").string();
  Outcome o = faultline({"score", "toy", "--sanitizer", "none", "--repeat", "3", "--seed", "5",
                         "--out", score_out, "--format", "csv"});
  ASSERT_EQ(o.code, 0) << o.out << o.err;
  // buggy shows the incident in every run; fixed is clean; `other` has no ground truth.
  EXPECT_NE(o.out.find("toy,none,3,0,0,3,0,1,1,1,"), std::string::npos) << o.out;
  EXPECT_EQ(raw_records(score_out).size(), 9u);
  // --resume finds everything done and runs nothing.
  o = faultline(
      {"score", "toy", "--sanitizer", "none", "--repeat", "3", "--out", score_out, "--resume"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("0 to run (9 already recorded)"), std::string::npos) << o.out;
  EXPECT_EQ(raw_records(score_out).size(), 9u);
  o = faultline({"score", "--from", score_out, "--format", "markdown"}, false);
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("| toy | none | 3 | 0 | 0 | 3 | 0 | 1.00 | 1.00 | 1 |"), std::string::npos)
      << o.out;
  EXPECT_EQ(faultline({"score", "--from", score_out, "--format", "yaml"}, false).code, 2);
  EXPECT_EQ(faultline({"score", "toy", "--from", score_out}, false).code, 2);
  o = faultline({"score", "toy", "--sanitizer", "tsan"});
  EXPECT_EQ(o.code, 2);  // no tsan build in this root
}

TEST_F(CliTest, AScenarioWithAMisspeltExpectationIsRefused) {
  fs::copy_file(BAD_SPEC_BIN, root_ / "release" / "scenarios" / "bad-spec");
  Outcome o = faultline({"run", "bad-spec", "--out", out_.string()});
  EXPECT_EQ(o.code, 2) << o.out << o.err;
  EXPECT_NE(o.err.find("unknown symptom kind 'data_rcae': did you mean data_race?"),
            std::string::npos)
      << o.err;
  EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;  // one line
  EXPECT_FALSE(fs::exists(out_));                                       // nothing written
}

TEST_F(CliTest, UnknownScenarioSuggestsTheNearName) {
  Outcome o = faultline({"run", "tyo"});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("unknown scenario 'tyo': did you mean toy?"), std::string::npos) << o.err;
}

// --stop: the toy's buggy variant shows its symptom in every run, so first-hit stops it after
// one run and settled after two (two hits reach Wald's bound with the defaults); the fixed
// variant, clean every time, settles after fifteen. --repeat 30 is only the cap.
TEST_F(CliTest, AStopRuleStartsNoMoreRunsOnceTheAnswerIsIn) {
  Outcome o = faultline(run_args({"--variant", "buggy", "--repeat", "30", "--stop", "first-hit"}));
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  EXPECT_EQ(read_records(out_).size(), 1u);
  EXPECT_NE(o.out.find("--stop first-hit: 29 runs not needed"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("buggy (none): first hit at decided run 1"), std::string::npos) << o.out;
  fs::remove(out_);
  o = faultline(run_args({"--variant", "buggy", "--repeat", "30", "--stop", "settled"}));
  const auto records = read_records(out_);
  EXPECT_EQ(records.size(), 2u) << o.out;
  EXPECT_NE(o.out.find("buggy (none): settled after 2 decided runs (2 hits)"), std::string::npos)
      << o.out;
  o = faultline(run_args(
      {"--variant", "fixed", "--repeat", "30", "--stop", "settled", "--set", "action=clean"}));
  EXPECT_EQ(read_records(out_).size() - records.size(), 15u) << o.out;
  EXPECT_NE(o.out.find("fixed (none): settled after 15 decided runs (0 hits): the incident shows "
                       "in at most 2% of runs"),
            std::string::npos)
      << o.out;
  const auto before = read_records(out_).size();
  o = faultline(run_args({"--stop", "sometimes"}));
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("--stop 'sometimes' is not a rule: use never, first-hit or settled"),
            std::string::npos)
      << o.err;
  EXPECT_EQ(read_records(out_).size(), before) << "a bad rule runs nothing";
}

TEST_F(CliTest, BadParametersAreRejectedBeforeAnyRun) {
  Outcome o = faultline(run_args({"--set", "speed=3"}));
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("toy has no parameter 'speed': its parameters are action, count, sleep-ms"),
            std::string::npos)
      << o.err;
  o = faultline(run_args({"--set", "sleep-ms=-5"}));
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("out of range"), std::string::npos) << o.err;
  o = faultline(run_args({"--variant", "bugy"}));
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("no variant 'bugy'"), std::string::npos) << o.err;
  o = faultline(run_args({"--repeat", "0"}));
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("--repeat 0 is out of range"), std::string::npos) << o.err;
  o = faultline(run_args({"--jobs", "x"}));
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("(see faultline run --help)"), std::string::npos) << o.err;
  EXPECT_FALSE(fs::exists(out_));
}

TEST_F(CliTest, MissingBuildNamesTheCommandThatMakesIt) {
  Outcome o = faultline(run_args({"--sanitizer", "tsan"}));
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("no tsan build of toy"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("cmake --preset tsan && cmake --build --preset tsan"), std::string::npos);
  o = faultline(run_args({"--sanitizer", "msan"}));
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("unknown sanitizer 'msan'"), std::string::npos) << o.err;
}

TEST_F(CliTest, UnwritableOutputIsAClearError) {
  Outcome o = faultline({"run", "toy", "--out", "/proc/self/nope/runs.jsonl"});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("choose another"), std::string::npos) << o.err;
}

// A results file that cannot take a record (a full disk) ends the command with one line naming
// the file, the cause and the fix, not an abort; records written before it are whole.
TEST_F(CliTest, AFailedRecordWriteIsOneLineNotAnAbort) {
  Outcome o = faultline({"run", "toy", "--out", "/dev/full"});
  EXPECT_EQ(o.code, 2) << o.err;  // refused before any run: a device is no results file
  EXPECT_NE(o.err.find("not a regular file"), std::string::npos) << o.err;
  // A file system that fills up mid-run is the same failure later on: a small tmpfs is not
  // available to every user, so the write error is forced with RLIMIT_FSIZE instead (SIGXFSZ
  // ignored, so the write fails with EFBIG as on a full disk).
  RunRequest request;
  request.argv = {
      "/bin/sh",
      "-c",
      "trap '' XFSZ; ulimit -f 1; exec \"$0\" run toy --repeat 3 --out \"$1\" --build-root \"$2\"",
      FAULTLINE_BIN,
      out_.string(),
      root_.string()};
  request.timeout = std::chrono::seconds(60);
  RunResult r = run_process(request);
  EXPECT_EQ(r.exit_code.value_or(-1), 4) << r.err.text;
  EXPECT_NE(r.err.text.find("writing a run record to"), std::string::npos) << r.err.text;
  EXPECT_EQ(r.err.text.find("terminate"), std::string::npos) << r.err.text;
  if (fs::exists(out_) && fs::file_size(out_) > 0) {
    EXPECT_NO_THROW(read_records(out_));
  }
}

// An address beyond loopback is bound only when named, and then with a warning. (The test names
// a documentation address, 192.0.2.1, which no machine holds: the bind fails, nothing listens.)
TEST_F(CliTest, ProxyWarnsBeforeBindingBeyondLoopback) {
  Outcome o = faultline({"proxy", "--listen", "192.0.2.1:0", "--upstream", "127.0.0.1:9", "--fault",
                         "latency:ms=1", "--duration", "0.2"},
                        false);
  EXPECT_NE(o.err.find("192.0.2.1 is beyond loopback"), std::string::npos) << o.err;
  EXPECT_EQ(o.code, 2) << o.err;
  o = faultline({"proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--fault",
                 "latency:ms=1", "--duration", "0.2"},
                false);
  EXPECT_EQ(o.err.find("beyond loopback"), std::string::npos) << o.err;
  EXPECT_EQ(o.code, 0) << o.err;
}

// Numbers that used to wrap or overflow: "-1" read into an unsigned option as 2^64 - 1, a memory
// limit that became RLIMIT_AS 0, a seed the scenario cannot take. Each is one line and exit 2.
TEST_F(CliTest, NumbersThatWouldWrapAreRefused) {
  struct Case {
    std::vector<std::string> extra;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"--max-memory-mb", "-1"}, "--max-memory-mb takes a whole number (0, 1, 2, ...), not '-1'"},
      {{"--max-memory-mb", "17592186044416"}, "--max-memory-mb 17592186044416 is out of range"},
      {{"--seed", "-1"}, "--seed takes a whole number (0, 1, 2, ...), not '-1'"},
      {{"--seed", "9223372036854775808"}, "--seed 9223372036854775808 is out of range"},
      {{"--repeat", "-3"}, "--repeat takes a whole number (0, 1, 2, ...), not '-3'"},
      {{"--max-fds", "12abc"}, "--max-fds takes a whole number"},
  };
  for (const auto& c : cases) {
    Outcome o = faultline(run_args(c.extra));
    EXPECT_EQ(o.code, 2) << c.says << ": " << o.err;
    EXPECT_NE(o.err.find(c.says), std::string::npos) << o.err;
    EXPECT_FALSE(fs::exists(out_)) << "a refused command wrote " << out_;
  }
}

// A driver killed with SIGKILL cannot remove its run's report file; the next driver removes the
// report files of drivers that are gone (and leaves a live one's alone).
TEST_F(CliTest, ReportFilesOfDeadDriversAreRemoved) {
  RunRequest gone;
  gone.argv = {"/bin/true"};
  const pid_t dead = run_process(gone).pid;
  ASSERT_GT(dead, 0);
  const fs::path orphan = fs::temp_directory_path() / fmt::format("faultline-{}-x.jsonl", dead);
  const fs::path live = fs::temp_directory_path() / fmt::format("faultline-{}-x.jsonl", ::getpid());
  // Someone else's file with a "pid" too long for one used to throw out of std::stol.
  const fs::path foreign = fs::temp_directory_path() / "faultline-99999999999999999999-x.jsonl";
  std::ofstream(orphan) << "{}\n";
  std::ofstream(live) << "{}\n";
  std::ofstream(foreign) << "{}\n";
  Outcome o = faultline({"exec", "--out", out_.string(), "--", "true"}, false);
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_FALSE(fs::exists(orphan));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(foreign));
  fs::remove(live);
  fs::remove(foreign);
}

// Likewise a run's cgroup, left by a driver killed before the run's watcher started: the next
// driver kills what is still in it and removes it. That driver is started here directly, not
// through run_process, so that it shares this process's cgroup.
TEST_F(CliTest, CgroupsOfDeadDriversAreRemoved) {
  const std::string parent = containment_support().parent;
  if (parent.empty()) GTEST_SKIP() << "no run cgroups here: " << containment_support().why_not;
  RunRequest gone;
  gone.argv = {"/bin/true"};
  const pid_t dead = run_process(gone).pid;
  ASSERT_GT(dead, 0);
  const fs::path orphan = fs::path(parent) / fmt::format("faultline-{}-0", dead);
  ASSERT_TRUE(fs::create_directory(orphan));
  const pid_t left = ::fork();
  ASSERT_GE(left, 0);
  if (left == 0) {
    std::ofstream(orphan / "cgroup.procs") << "0\n";
    for (;;) ::pause();
  }
  for (int i = 0; i < 200; ++i) {
    std::ifstream procs(orphan / "cgroup.procs");
    pid_t in = 0;
    if (procs >> in && in == left) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const pid_t driver = ::fork();
  ASSERT_GE(driver, 0);
  if (driver == 0) {
    ::execl(FAULTLINE_BIN, FAULTLINE_BIN, "exec", "--out", out_.c_str(), "--", "/bin/true",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(driver, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  int left_status = 0;
  const bool killed = ::waitpid(left, &left_status, 0) == left && WIFSIGNALED(left_status);
  EXPECT_TRUE(killed) << "the process left in the orphaned cgroup was not killed";
  EXPECT_FALSE(fs::exists(orphan));
  std::error_code ec;
  fs::remove(orphan, ec);
}

// exec of a program that is not there is a typo: one line, exit 2, nothing recorded.
TEST_F(CliTest, ExecOfAMissingProgramIsABadInput) {
  for (const std::string program : {"no-such-program-xyz", "/nonexistent/repro"}) {
    Outcome o = faultline({"exec", "--out", out_.string(), "--", program}, false);
    EXPECT_EQ(o.code, 2) << o.err;
    EXPECT_NE(o.err.find(program), std::string::npos) << o.err;
    EXPECT_FALSE(fs::exists(out_));
  }
}

// A driver killed with SIGKILL leaves nothing of its run behind. The run's leader dies by its
// PR_SET_PDEATHSIG; a background process of its group used to live on (reparented, still
// sleeping), and one that had called setsid was beyond a group kill; the run's watcher now kills
// the group and the run's cgroup, and removes the cgroup.
// Gone, or a zombie waiting for whoever it was reparented to: not running any more.
bool running(pid_t process) {
  std::ifstream stat("/proc/" + std::to_string(process) + "/stat");
  std::string pid, comm, state;
  if (!(stat >> pid >> comm >> state)) return false;
  return state != "Z";
}

void expect_nothing_outlives_a_killed_driver(const fs::path& root, const fs::path& out,
                                             const std::string& launcher) {
  const fs::path pid_file = root / "background.pid";
  const std::string script = launcher + "sleep 300 & echo $! > " + pid_file.string() + "; wait";
  std::vector<std::string> words = {FAULTLINE_BIN, "exec",    "--out", out.string(),
                                    "--",          "/bin/sh", "-c",    script};
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  const pid_t driver = ::fork();
  ASSERT_GE(driver, 0);
  if (driver == 0) {
    ::execv(FAULTLINE_BIN, argv.data());
    ::_exit(127);
  }
  pid_t background = -1;
  for (int i = 0; i < 500 && background <= 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::ifstream in(pid_file);
    in >> background;
  }
  ASSERT_GT(background, 0) << "the run never started its background process";
  ::kill(driver, SIGKILL);
  int status = 0;
  ::waitpid(driver, &status, 0);
  for (int i = 0; i < 300 && running(background); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const bool survived = running(background);
  if (survived) ::kill(background, SIGKILL);
  EXPECT_FALSE(survived) << "pid " << background << " of the run outlived its SIGKILLed driver";
  const std::string parent = containment_support().parent;
  if (parent.empty()) return;
  const std::string prefix = "faultline-" + std::to_string(driver) + "-";
  auto leftovers = [&] {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(parent)) {
      if (entry.path().filename().string().starts_with(prefix)) {
        names.push_back(entry.path().string());
      }
    }
    return names;
  };
  for (int i = 0; i < 300 && !leftovers().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(leftovers().empty())
      << "the run's cgroup " << leftovers().front() << " outlived its SIGKILLed driver";
}

TEST_F(CliTest, ASigkilledDriverLeavesNoProcessOfItsRun) {
  expect_nothing_outlives_a_killed_driver(root_, out_, "");
}

TEST_F(CliTest, ASigkilledDriverLeavesNoProcessThatLeftTheRunsGroup) {
  if (containment_support().mechanism != "cgroup2") {
    GTEST_SKIP() << "no cgroup2 with cgroup.kill here (" << containment_support().why_not << ")";
  }
  expect_nothing_outlives_a_killed_driver(root_, out_, "setsid ");
}

TEST_F(CliTest, AnEscapedDescendantIsKilledAndNotedInTheRecord) {
  if (containment_support().mechanism != "cgroup2") {
    GTEST_SKIP() << "no cgroup2 with cgroup.kill here (" << containment_support().why_not << ")";
  }
  const fs::path pid_file = root_ / "escaped.pid";
  // The pid file is written after setsid: the run ends once the descendant has left its group.
  const std::string pid_path = pid_file.string();
  Outcome o = faultline({"exec", "--out", out_.string(), "--", "/bin/sh", "-c",
                         "setsid /bin/sh -c 'echo $$ > " + pid_path + "; exec sleep 300' & " +
                             "while [ ! -s " + pid_path + " ]; do sleep 0.01; done"});
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  pid_t escaped = -1;
  std::ifstream(pid_file) >> escaped;
  ASSERT_GT(escaped, 0);
  const bool survived = running(escaped);
  if (survived) ::kill(escaped, SIGKILL);
  EXPECT_FALSE(survived) << "pid " << escaped << " outlived its run";
  auto records = raw_records(out_);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["exit"]["contained_by"], "cgroup2");
  EXPECT_EQ(records[0]["exit"]["escaped_processes"], 1);
  bool noted = false;
  for (const auto& note : records[0]["notes"]) {
    noted = noted || note.get<std::string>().find(
                         "1 process of the run had left its process "
                         "group") != std::string::npos;
  }
  EXPECT_TRUE(noted) << records[0].dump();
}

// Boost's own words were vague: "too many positional options have been specified" without the
// word, "the argument ('x') for option '--jobs' is invalid" without what it takes.
TEST_F(CliTest, ParserErrorsNameTheWordAndWhatTheOptionTakes) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"run", "toy", "extra-word"}, "'extra-word' is one word too many: run takes at most 1"},
      {{"list", "a", "b"}, "'b' is one word too many"},
      {{"sweep", "toy", "--jobs", "x"}, "--jobs takes a whole number, not 'x'"},
      {{"run", "toy", "--timeout", "1e400"},
       "--timeout takes a number such as 2 or 0.5, not '1e400'"},
      {{"run", "toy", "--timeout", "ten"}, "--timeout takes a number such as 2 or 0.5, not 'ten'"},
  };
  for (const auto& c : cases) {
    Outcome o = faultline(c.args);
    EXPECT_EQ(o.code, 2) << c.args.front() << " " << o.err;
    EXPECT_NE(o.err.find(c.says), std::string::npos) << o.err;
    EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
    EXPECT_FALSE(fs::exists(out_)) << "a bad input touched the results file";
  }
}

// A program in a scenarios folder that is not a scenario used to be internal error 4 for list
// and run alike; now run refuses it as bad input and list skips it, naming it.
TEST_F(CliTest, AStrayProgramInTheBuildIsNotAScenario) {
  fs::copy_file("/bin/true", root_ / "release" / "scenarios" / "stray");
  Outcome run = faultline({"run", "stray", "--out", out_.string()});
  EXPECT_EQ(run.code, 2) << run.err;
  EXPECT_NE(run.err.find("stray is not a faultline scenario (`--describe` printed nothing)"),
            std::string::npos)
      << run.err;
  EXPECT_FALSE(fs::exists(out_));
  Outcome list = faultline({"list"});
  EXPECT_EQ(list.code, 0) << list.err;
  EXPECT_NE(list.out.find("toy"), std::string::npos) << list.out;
  EXPECT_NE(list.err.find("skipped: "), std::string::npos) << list.err;
}

// The time to the first symptom: from the child's exec to the read that brought the first line
// of its first report (here after a 300 ms sleep, so never sooner), or to the crash.
TEST_F(CliTest, RecordsTheTimeToTheFirstSymptom) {
  const std::string report =
      "printf '==================\\nWARNING: ThreadSanitizer: data race (pid=1)\\n"
      "  Write of size 4 at 0x1 by thread T1:\\n    #0 f a.cpp:1 (a+0x1)\\n\\n"
      "SUMMARY: ThreadSanitizer: data race a.cpp:1 in f\\n==================\\n' >&2";
  Outcome o = faultline({"exec", "--expect", "data_race", "--out", out_.string(), "--", "/bin/sh",
                         "-c", "sleep 0.3; " + report + "; exit 66"});
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("first symptom: "), std::string::npos) << o.out;
  Outcome crash = faultline({"exec", "--expect", "crash", "--out", out_.string(), "--", "/bin/sh",
                             "-c", "sleep 0.2; kill -SEGV $$"});
  EXPECT_EQ(crash.code, 0) << crash.out << crash.err;
  auto records = raw_records(out_);
  ASSERT_EQ(records.size(), 2u);
  for (const auto& r : records) {
    ASSERT_TRUE(r.contains("first_symptom_s")) << r.dump();
    const double t = r["first_symptom_s"];
    EXPECT_GE(t, r["variant"] == "exec" && r["symptoms"][0]["source"] == "signal" ? 0.2 : 0.3);
    EXPECT_LE(t, r["duration_s"].get<double>());
  }
  Outcome clean = faultline({"exec", "--out", out_.string(), "--", "/bin/true"});
  EXPECT_FALSE(raw_records(out_).back().contains("first_symptom_s"));
}

// --end-at-answer: a program that prints a complete race report and would then run for 30 s is
// ended at the report, judged reproduced, and recorded as ended by the driver (its SIGKILL is
// no crash). A run that expects no incident, or is not given the option, runs to its end.
TEST_F(CliTest, EndAtAnswerEndsARunAtItsFirstCompleteReport) {
  const std::string report =
      "printf '==================\\nWARNING: ThreadSanitizer: data race (pid=1)\\n"
      "  Write of size 4 at 0x1 by thread T1:\\n    #0 f a.cpp:1 (a+0x1)\\n\\n"
      "SUMMARY: ThreadSanitizer: data race a.cpp:1 in f\\n==================\\n' >&2";
  auto exec = [&](std::vector<std::string> options, const std::string& then) {
    std::vector<std::string> args = {"exec", "--out", out_.string(), "--timeout", "20"};
    args.insert(args.end(), options.begin(), options.end());
    for (const char* word : {"--", "/bin/sh", "-c"}) args.push_back(word);
    args.push_back(report + "; " + then);
    return faultline(args);
  };
  Outcome ended = exec({"--expect", "data_race", "--end-at-answer"}, "sleep 30; exit 66");
  EXPECT_EQ(ended.code, 0) << ended.out << ended.err;
  Outcome other = exec({"--expect", "heap_use_after_free", "--end-at-answer"}, "sleep 1; exit 66");
  Outcome without = exec({"--expect", "data_race"}, "sleep 1; exit 66");
  auto records = raw_records(out_);
  ASSERT_EQ(records.size(), 3u);
  const auto& r = records[0];
  EXPECT_EQ(r["verdict"], "reproduced") << r.dump();
  EXPECT_EQ(r["exit"]["ended_at_answer"], true) << r["exit"].dump();
  EXPECT_EQ(r["exit"]["signal"], "SIGKILL");
  EXPECT_LT(r["duration_s"].get<double>(), 10.0);
  ASSERT_EQ(r["symptoms"].size(), 1u) << r["symptoms"].dump();  // no "crash" from the SIGKILL
  EXPECT_EQ(r["symptoms"][0]["kind"], "data_race");
  for (std::size_t i : {1u, 2u}) {  // the report is not the expected one; no option
    EXPECT_FALSE(records[i]["exit"].contains("ended_at_answer")) << records[i]["exit"].dump();
    EXPECT_EQ(records[i]["exit"]["code"], 66);
    EXPECT_GE(records[i]["duration_s"].get<double>(), 1.0);
  }
}

TEST_F(CliTest, UnknownCommandSuggestsOne) {
  Outcome o = faultline({"rnu"}, false);
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("did you mean run?"), std::string::npos) << o.err;
}

TEST_F(CliTest, RunRecordsEveryRunAndMeetsExpectations) {
  Outcome o = faultline(run_args({"--variant", "buggy,fixed", "--repeat", "3", "--seed", "100"}));
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("buggy (none): reproduced the incident in 3 of 3 runs"), std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("fixed (none): stayed clean in 3 runs"), std::string::npos) << o.out;
  auto records = raw_records(out_);
  ASSERT_EQ(records.size(), 6u);
  for (const auto& r : records) {
    EXPECT_EQ(r["scenario"], "toy");
    EXPECT_EQ(r["params"]["action"], "observe");
    std::uint64_t seed = r["seed"];
    EXPECT_EQ(seed, 100 + r["repeat_index"].get<std::uint64_t>());
    EXPECT_EQ(r["metrics"]["seed_seen"]["value"], static_cast<double>(seed));
    EXPECT_NE(r["replay"].get<std::string>().find("--seed " + std::to_string(seed)),
              std::string::npos);
    EXPECT_TRUE(r["host"].contains("cores"));
    if (r["variant"] == "buggy") {
      EXPECT_EQ(r["verdict"], "reproduced");
      EXPECT_EQ(r["expectation"]["expect"], "incident");
      ASSERT_EQ(r["symptoms"].size(), 1u);
      EXPECT_EQ(r["symptoms"][0]["kind"], "toy_symptom");
      EXPECT_EQ(r["symptoms"][0]["count"], 3);
    } else {
      EXPECT_EQ(r["verdict"], "clean");
      EXPECT_EQ(r["expectation"]["expect"], "clean");
      EXPECT_TRUE(r["completion"]["ok"].get<bool>());
      EXPECT_EQ(r["observations"][0]["count"], 0);
    }
  }
}

TEST_F(CliTest, BuggyThatDoesNotReproduceIsAMissedExpectation) {
  Outcome o = faultline(run_args({"--variant", "buggy", "--set", "action=clean"}));
  EXPECT_EQ(o.code, 1) << o.out;
  EXPECT_NE(o.out.find("MISS buggy (none): did NOT reproduce"), std::string::npos) << o.out;
}

TEST_F(CliTest, CrashIsRecordedWithItsSignal) {
  Outcome o = faultline(run_args({"--variant", "fixed", "--set", "action=segv"}));
  EXPECT_EQ(o.code, 1) << o.out;  // a fixed variant that crashed missed its expectation
  auto r = raw_records(out_).at(0);
  EXPECT_EQ(r["verdict"], "unexpected");  // a crash is not the toy's incident
  EXPECT_EQ(r["exit"]["signal"], "SIGSEGV");
  EXPECT_EQ(r["symptoms"][0]["kind"], "crash");
}

TEST_F(CliTest, HangIsStoppedAndCountedUnknown) {
  Outcome o = faultline(run_args({"--variant", "fixed", "--set", "action=hang", "--timeout", "1"}));
  EXPECT_EQ(o.code, 3) << o.out;
  auto r = raw_records(out_).at(0);
  EXPECT_EQ(r["verdict"], "unknown");
  EXPECT_TRUE(r["exit"]["timed_out"].get<bool>());
  EXPECT_LT(r["duration_s"].get<double>(), 10.0);
}

TEST_F(CliTest, MissingDoneOrExitCodeIsUnknownNotPassed) {
  Outcome o = faultline(run_args({"--variant", "fixed", "--set", "action=no-done"}));
  EXPECT_EQ(o.code, 3);
  o = faultline(run_args({"--variant", "fixed", "--set", "action=exit3"}));
  EXPECT_EQ(o.code, 3);
  auto records = raw_records(out_);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_NE(records[0]["verdict_reason"].get<std::string>().find("no done event"),
            std::string::npos);
  EXPECT_EQ(records[1]["exit"]["code"], 3);
}

TEST_F(CliTest, CtrlCKeepsFinishedRunsAndSaysSo) {
  RunRequest request;
  request.argv = {FAULTLINE_BIN,  "run",   "toy",         "--variant",    "fixed",
                  "--repeat",     "200",   "--set",       "sleep-ms=100", "--set",
                  "action=clean", "--out", out_.string(), "--build-root", root_.string()};
  request.timeout = std::chrono::seconds(60);
  RunResult result;
  std::thread runner([&] { result = run_process(request); });
  // Wait until a few runs have landed, then interrupt the driver as a terminal would.
  for (int i = 0; i < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ifstream in(out_);
    std::string line;
    int lines = 0;
    while (std::getline(in, line)) ++lines;
    if (lines >= 3) break;
  }
  ::system(("pkill -INT -f -- '--out " + out_.string() + "'").c_str());
  runner.join();
  EXPECT_EQ(result.exit_code.value_or(-1), 130) << result.out.text << result.err.text;
  EXPECT_NE(result.out.text.find("interrupted:"), std::string::npos) << result.out.text;
  auto records = raw_records(out_);
  EXPECT_GE(records.size(), 3u);
  EXPECT_LT(records.size(), 200u);
}

TEST_F(CliTest, ExecRunsAnyCommandWithTheSameRecords) {
  Outcome o =
      faultline({"exec", "--name", "shell", "--variant", "buggy", "--repeat", "2", "--expect",
                 "crash", "--out", out_.string(), "--", "sh", "-c", "kill -ABRT $$"},
                false);
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  auto records = raw_records(out_);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["verdict"], "reproduced");
  EXPECT_EQ(records[0]["expectation"]["source"], "--expect");
  EXPECT_EQ(records[0]["scenario"], "shell");
  EXPECT_EQ(records[0]["exit"]["signal"], "SIGABRT");

  // A program that exists but cannot be started (here: not an executable format) ends unknown.
  const fs::path not_a_program = root_ / "not-a-program";
  std::ofstream(not_a_program) << "\x7f"
                               << "garbage";
  fs::permissions(not_a_program, fs::perms::owner_all);
  o = faultline({"exec", "--out", out_.string(), "--", not_a_program.string()}, false);
  EXPECT_EQ(o.code, 3) << o.out << o.err;
  EXPECT_EQ(raw_records(out_).back()["verdict"], "unknown");

  o = faultline({"exec", "--repeat", "2"}, false);
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("give the command after --"), std::string::npos);
}

}  // namespace
}  // namespace faultline

namespace faultline {
namespace {

TEST_F(CliTest, FaultsReachTheScenarioAndTheRecord) {
  Outcome o = faultline(
      run_args({"--variant", "fixed", "--set", "action=clean", "--fault", "latency:ms=5,jitter=2",
                "--fault", "udp-loss:p=0.25", "--perturb", "probability=0.5,max-us=10", "--nemesis",
                "pause:at=0.1,for=0.2", "--seed", "9"}));
  ASSERT_EQ(o.code, 0) << o.out << o.err;
  auto records = raw_records(out_);
  ASSERT_EQ(records.size(), 1u);
  const auto& r = records.front();
  ASSERT_EQ(r["faults"].size(), 2u);
  EXPECT_EQ(r["faults"][0]["kind"], "latency");
  EXPECT_EQ(r["faults"][0]["params"]["ms"], "5");
  EXPECT_EQ(r["faults"][0]["params"]["jitter"], "2");
  EXPECT_EQ(r["faults"][1]["kind"], "udp-loss");
  EXPECT_EQ(r["perturb"], "probability=0.5,max-us=10");
  EXPECT_EQ(r["nemesis"][0], "pause:at=0.1,for=0.2");
  // The scenario saw them: its own report says so.
  EXPECT_EQ(r["metrics"]["faults_given"]["value"], 2);
  EXPECT_EQ(r["metrics"]["nemesis_given"]["value"], 1);
  ASSERT_EQ(r["timeline"].size(), 2u);
  EXPECT_EQ(r["timeline"][1]["detail"], "udp-loss:p=0.25");
  // The key tells these runs apart from runs without faults (for --resume and compare).
  const std::string key = r["key"].get<std::string>();
  EXPECT_NE(key.find("|faults=latency:ms=5,jitter=2;udp-loss:p=0.25"), std::string::npos) << key;
  EXPECT_NE(key.find("|perturb=probability=0.5,max-us=10"), std::string::npos) << key;
  const std::string replay = r["replay"].get<std::string>();
  EXPECT_NE(replay.find("--fault latency:ms=5,jitter=2"), std::string::npos) << replay;
}

TEST_F(CliTest, MalformedFaultIsRejectedBeforeAnyRun) {
  Outcome o = faultline(run_args({"--fault", "Latency ms"}));
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("is not a fault: write kind:key=value"), std::string::npos) << o.err;
  o = faultline(run_args({"--fault", "latency:ms"}));
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("'ms' in 'ms' is not key=value"), std::string::npos) << o.err;
  o = faultline(run_args({"--perturb", "probability=0.1,probability=0.2"}));
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("key 'probability' is given twice"), std::string::npos) << o.err;
  EXPECT_FALSE(fs::exists(out_));
}

TEST_F(CliTest, ExecRefusesScenarioFaults) {
  Outcome o =
      faultline({"exec", "--out", out_.string(), "--fault", "latency:ms=1", "--", "true"}, false);
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("need a faultline scenario"), std::string::npos) << o.err;
}

TEST_F(CliTest, ReplayRunsTheRecordAgainAndComparesTheVerdict) {
  Outcome o = faultline(run_args(
      {"--variant", "buggy", "--seed", "41", "--set", "sleep-ms=5", "--fault", "latency:ms=1"}));
  ASSERT_EQ(o.code, 0) << o.err;
  auto first = raw_records(out_).front();
  const std::string id = first["run_id"].get<std::string>();
  o = faultline({"replay", id.substr(0, 20), "--results", out_.string()});
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("verdict matched"), std::string::npos) << o.out;
  auto records = raw_records(out_);
  ASSERT_EQ(records.size(), 2u);
  const auto& again = records.back();
  EXPECT_NE(again["run_id"], first["run_id"]);
  for (const char* field : {"key", "scenario", "variant", "sanitizer", "params", "seed", "faults",
                            "command", "verdict"}) {
    EXPECT_EQ(again[field], first[field]) << field;
  }
  EXPECT_EQ(again["metrics"]["seed_seen"]["value"], 41);

  // A recorded run whose verdict the replay does not get back is reported, exit 1: here the
  // record is edited to say it saw no symptom.
  first["symptoms"] = nlohmann::json::array();
  first["verdict"] = "not_reproduced";
  first["run_id"] = "edited-run";
  {
    std::ofstream f(out_, std::ios::app);
    f << first.dump() << "\n";
  }
  o = faultline({"replay", "edited-run", "--results", out_.string()});
  EXPECT_EQ(o.code, 1) << o.out << o.err;
  EXPECT_NE(o.out.find("verdict differs"), std::string::npos) << o.out;
}

// A results file may come from anyone: replaying an exec record shows its command and runs it
// only with --yes.
TEST_F(CliTest, ReplayOfAnExecRecordShowsTheCommandAndAsks) {
  const fs::path marker = root_ / "ran";
  Outcome o = faultline(
      {"exec", "--out", out_.string(), "--", "sh", "-c", "echo x >> " + marker.string()}, false);
  ASSERT_EQ(o.code, 0) << o.err;
  const std::string id = raw_records(out_).front()["run_id"].get<std::string>();
  o = faultline({"replay", id, "--results", out_.string()}, false);
  EXPECT_EQ(o.code, 2) << o.out << o.err;
  EXPECT_NE(o.err.find("runs a command of its own: sh -c"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("--yes"), std::string::npos) << o.err;
  EXPECT_EQ(raw_records(out_).size(), 1u);
  std::ifstream once(marker);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(once), {}), "x\n");
  o = faultline({"replay", id, "--results", out_.string(), "--yes"}, false);
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("sh -c"), std::string::npos) << o.out;
  EXPECT_EQ(raw_records(out_).size(), 2u);
}

TEST_F(CliTest, ExecIsJudgedByItsExpectOnly) {
  // A variant named buggy sets no expectation: without --expect nothing is judged.
  Outcome o =
      faultline({"exec", "--variant", "buggy", "--out", out_.string(), "--", "true"}, false);
  EXPECT_EQ(o.code, 0) << o.out;
  EXPECT_NE(o.out.find("not judged"), std::string::npos) << o.out;
  // A crash is not a data race: the expectation is missed, and the crash is shown.
  o = faultline(
      {"exec", "--expect", "data_race", "--out", out_.string(), "--", "sh", "-c", "kill -SEGV $$"},
      false);
  EXPECT_EQ(o.code, 1) << o.out;
  EXPECT_EQ(raw_records(out_).back()["verdict"], "unexpected");
  // A report is judged on what was parsed: with a frame the report does not have, it is not the
  // incident.
  o = faultline({"exec", "--expect", "data_race:decode_divide_reply", "--out", out_.string(), "--",
                 "sh", "-c",
                 "printf 'WARNING: ThreadSanitizer: data race (pid=1)\\n  Write of size 4 at 0x1 "
                 "by thread T1:\\n    #0 other() a.cpp:1\\n' >&2; exit 66"},
                false);
  EXPECT_EQ(o.code, 1) << o.out;
  EXPECT_EQ(raw_records(out_).back()["verdict"], "unexpected") << o.out;
  // The same text from a program that exits 0 is not believed at all: no runtime that prints
  // such a report exits 0. The record keeps a note of it, and the run has no symptom.
  o = faultline({"exec", "--expect", "data_race", "--out", out_.string(), "--", "sh", "-c",
                 "printf 'WARNING: ThreadSanitizer: data race (pid=1)\\n  Write of size 4 at 0x1 "
                 "by thread T1:\\n    #0 other() a.cpp:1\\n' >&2"},
                false);
  EXPECT_EQ(o.code, 1) << o.out;
  const auto fake = raw_records(out_).back();
  EXPECT_EQ(fake["verdict"], "not_reproduced") << fake.dump();
  EXPECT_TRUE(fake["symptoms"].empty()) << fake.dump();
  EXPECT_NE(fake["notes"].dump().find("not believed: text shaped like a tsan report"),
            std::string::npos)
      << fake.dump();
  o = faultline({"exec", "--expect", "clean", "--out", out_.string(), "--", "true"}, false);
  EXPECT_EQ(o.code, 0) << o.out;
  EXPECT_EQ(raw_records(out_).back()["verdict"], "clean");
  // Bad expectations: exit 2, one line, nothing written.
  const auto before = raw_records(out_).size();
  o = faultline({"exec", "--expect", "data_rcae", "--out", out_.string(), "--", "true"}, false);
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("did you mean data_race"), std::string::npos) << o.err;
  o = faultline({"exec", "--expect", "clean", "--expect", "crash", "--", "true"}, false);
  EXPECT_EQ(o.code, 2);
  o = faultline({"exec", "--expect", "crash", "--reach", "n=1", "--", "true"}, false);
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("=="), std::string::npos) << o.err;
  EXPECT_EQ(raw_records(out_).size(), before);
  // A kind of the command's own, declared with --observes, can be expected.
  o = faultline({"exec", "--expect", "lost_update", "--observes", "lost_update", "--out",
                 out_.string(), "--", "sh", "-c",
                 "printf '{\"type\":\"observation\",\"kind\":\"lost_update\",\"count\":2}\\n' "
                 ">>\"$FAULTLINE_REPORT\""},
                false);
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  EXPECT_EQ(raw_records(out_).back()["verdict"], "reproduced");
}

TEST_F(CliTest, RunningOutOfFdsIsNeverAReproduction) {
  // The buggy variant asked to open more fds than its limit allows and to report no symptom
  // of its own: the run only ran out of fds, so it proves nothing (exit 3), not a reproduction.
  Outcome o = faultline(run_args({"--variant", "buggy", "--set", "action=open-fds", "--set",
                                  "count=500", "--max-fds", "32", "--repeat", "2"}));
  EXPECT_EQ(o.code, 3) << o.out << o.err;
  EXPECT_NE(o.out.find("proved nothing"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("ran out of a resource"), std::string::npos) << o.out;
  for (const auto& r : raw_records(out_)) EXPECT_EQ(r["verdict"], "unknown");
}

TEST_F(CliTest, SweepAxesSetAFaultsStrength) {
  Outcome o = faultline({"sweep",     "toy",
                         "--out",     out_.string(),
                         "--variant", "fixed",
                         "--set",     "action=clean",
                         "--fault",   "latency:jitter=2",
                         "--grid",    "fault.latency.ms=1,5",
                         "--grid",    "fault.udp-loss.p=0.5",
                         "--perturb", "max-us=10",
                         "--grid",    "perturb.probability=0,0.5",
                         "--jobs",    "2"});
  ASSERT_EQ(o.code, 0) << o.out << o.err;
  // One row per point of the table, faults included (not one row for all four).
  EXPECT_NE(o.out.find("@fault=latency:jitter=2,ms=5;udp-loss:p=0.5 @perturb=max-us=10,"
                       "probability=0.5"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("@fault=latency:jitter=2,ms=1;udp-loss:p=0.5 @perturb=max-us=10,"
                       "probability=0 "),
            std::string::npos)
      << o.out;
  std::multiset<std::string> seen;
  for (const auto& r : raw_records(out_)) {
    ASSERT_EQ(r["faults"].size(), 2u) << r["faults"];
    EXPECT_EQ(r["faults"][0]["params"]["jitter"], "2");   // --fault's own keys stay
    EXPECT_EQ(r["faults"][1]["spec"], "udp-loss:p=0.5");  // added by its axis
    EXPECT_EQ(r["metrics"]["faults_given"]["value"], 2);
    seen.insert(r["faults"][0]["spec"].get<std::string>() + " " + r["perturb"].get<std::string>());
  }
  EXPECT_EQ(seen, (std::multiset<std::string>{"latency:jitter=2,ms=1 max-us=10,probability=0",
                                              "latency:jitter=2,ms=1 max-us=10,probability=0.5",
                                              "latency:jitter=2,ms=5 max-us=10,probability=0",
                                              "latency:jitter=2,ms=5 max-us=10,probability=0.5"}));
  o = faultline({"sweep", "toy", "--out", out_.string(), "--grid", "fault.latency=1,2"});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("name a fault's parameter as fault.KIND.KEY"), std::string::npos) << o.err;
}

TEST_F(CliTest, ReplayOfAnUnknownIdIsUsageError) {
  Outcome o = faultline(run_args({"--variant", "fixed", "--set", "action=clean"}));
  ASSERT_EQ(o.code, 0) << o.err;
  o = faultline({"replay", "20991231", "--results", out_.string()});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("no run with id '20991231'"), std::string::npos) << o.err;
  o = faultline({"replay", "x", "--results", (root_ / "missing.jsonl").string()});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("does not exist"), std::string::npos) << o.err;
}

// The symptom of a given kind in a record, or null.
nlohmann::json symptom_of(const nlohmann::json& record, const std::string& kind) {
  for (const auto& s : record["symptoms"]) {
    if (s["kind"] == kind) return s;
  }
  return nullptr;
}

TEST_F(CliTest, MaxFdsReachesTheChildAndRunningOutIsASymptom) {
  // Without a limit, 200 fds open and the run is clean: the symptom below comes from the limit.
  Outcome o = faultline(run_args({"--variant", "fixed", "--set", "action=open-fds"}));
  ASSERT_EQ(o.code, 0) << o.out << o.err;
  auto clean = raw_records(out_).at(0);
  EXPECT_EQ(clean["metrics"]["fds_opened"]["value"], 200.0);
  EXPECT_FALSE(clean["limits"].contains("open_files"));
  EXPECT_EQ(clean["verdict"], "clean");

  o = faultline(run_args({"--variant", "fixed", "--set", "action=open-fds", "--max-fds", "24"}));
  // Running out is the run's symptom, but it proves nothing about the incident: unknown, exit 3.
  EXPECT_EQ(o.code, 3) << o.out << o.err;
  auto r = raw_records(out_).at(1);
  EXPECT_EQ(r["limits"]["open_files"], 24);
  EXPECT_EQ(r["metrics"]["nofile_soft"]["value"], 24.0);
  EXPECT_LT(r["metrics"]["fds_opened"]["value"].get<double>(), 24.0);
  EXPECT_EQ(r["verdict"], "unknown");
  auto s = symptom_of(r, "resource_exhausted");
  ASSERT_FALSE(s.is_null()) << r.dump();
  EXPECT_EQ(s["count"], 1);
  EXPECT_NE(s["summary"].get<std::string>().find("open(/dev/null): EMFILE (Too many open files)"),
            std::string::npos)
      << s["summary"];
  EXPECT_NE(s["summary"].get<std::string>().find("RLIMIT_NOFILE 24"), std::string::npos)
      << s["summary"];
}

TEST_F(CliTest, MaxThreadsIsEnforcedByAPidsCgroupAndRecorded) {
  const ThreadLimitSupport& support = thread_limit_support();
  if (support.mechanism.rfind("cgroup", 0) != 0) {
    GTEST_SKIP() << "no writable pids cgroup here: "
                 << (support.error.empty() ? support.mechanism : support.error);
  }
  Outcome o = faultline(run_args({"--variant", "fixed", "--set", "action=start-threads", "--set",
                                  "count=40", "--max-threads", "8"}));
  EXPECT_EQ(o.code, 3) << o.out << o.err;  // ran out of threads: proves nothing
  auto r = raw_records(out_).at(0);
  EXPECT_EQ(r["limits"]["threads"], 8);
  EXPECT_EQ(r["limits"]["threads_enforced_by"], support.mechanism);
  // The main thread is one of the 8 tasks.
  EXPECT_LE(r["metrics"]["threads_started"]["value"].get<double>(), 7.0);
  EXPECT_EQ(r["verdict"], "unknown");
  auto s = symptom_of(r, "resource_exhausted");
  ASSERT_FALSE(s.is_null()) << r.dump();
  EXPECT_NE(s["summary"].get<std::string>().find("std::thread: EAGAIN"), std::string::npos)
      << s["summary"];
  EXPECT_NE(s["summary"].get<std::string>().find("pids.max 8"), std::string::npos) << s["summary"];

  // The same 40 threads start without the limit.
  o = faultline(
      run_args({"--variant", "fixed", "--set", "action=start-threads", "--set", "count=40"}));
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  auto unlimited = raw_records(out_).at(1);
  EXPECT_EQ(unlimited["metrics"]["threads_started"]["value"], 40.0);
  EXPECT_FALSE(unlimited["limits"].contains("threads"));
}

// The runner itself: the child runs inside the run's cgroup, and the cgroup is removed after the
// reap even when the child left a grandchild behind in another process group.
TEST_F(CliTest, RunnerRemovesTheRunsPidsCgroup) {
  const ThreadLimitSupport& support = thread_limit_support();
  if (support.mechanism.rfind("cgroup", 0) != 0) {
    GTEST_SKIP() << "no writable pids cgroup here: "
                 << (support.error.empty() ? support.mechanism : support.error);
  }
  RunRequest request;
  request.argv = {"/bin/sh", "-c", "cat /proc/self/cgroup; setsid sleep 30 & echo started"};
  request.limits.threads = 16;
  request.timeout = std::chrono::seconds(20);
  RunResult r = run_process(request);
  ASSERT_TRUE(r.started) << r.start_error;
  EXPECT_EQ(r.threads_enforced_by, support.mechanism);
  const std::string own = "faultline-" + std::to_string(::getpid()) + "-";
  EXPECT_NE(r.out.text.find(own), std::string::npos) << r.out.text;
  EXPECT_LT(r.duration, std::chrono::seconds(10));  // the setsid'd sleep did not hold the run
  for (const auto& entry : fs::directory_iterator(support.parent)) {
    EXPECT_NE(entry.path().filename().string().rfind(own, 0), 0u) << entry.path();
  }
}

TEST_F(CliTest, MaxThreadsThatCannotBeEnforcedIsRefused) {
  if (!thread_limit_support().mechanism.empty()) {
    GTEST_SKIP() << "this machine can enforce --max-threads (" << thread_limit_support().mechanism
                 << ")";
  }
  Outcome o = faultline(run_args({"--variant", "fixed", "--max-threads", "8"}));
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("--max-threads needs a writable pids cgroup"), std::string::npos) << o.err;
}

}  // namespace
}  // namespace faultline
