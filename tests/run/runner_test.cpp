// run_process() against tests/run/children/child.cpp. Time bounds here only prove that a
// call did not hang (they are generous for a loaded 2-core machine); none measures speed.
#include "harness/run/runner.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace faultline {
namespace {

using namespace std::chrono_literals;

constexpr const char* kChild = FAULTLINE_TEST_CHILD;
constexpr auto kDidNotHang = 10s;

RunRequest child_request(std::vector<std::string> args) {
  RunRequest request;
  request.argv = {kChild};
  request.argv.insert(request.argv.end(), args.begin(), args.end());
  // Long enough never to fire by accident: a test that hits it fails on timed_out.
  request.timeout = 60s;
  return request;
}

char pattern_byte(std::uint64_t i) {
  return i % 64 == 63 ? '\n' : static_cast<char>('a' + i % 26);
}

std::string pattern(std::uint64_t from, std::uint64_t to) {
  std::string text;
  for (std::uint64_t i = from; i < to; ++i) text += pattern_byte(i);
  return text;
}

std::string marker(std::uint64_t dropped) {
  return "\n[faultline: " + std::to_string(dropped) + " bytes dropped here]\n";
}

// Alive means signalled successfully and not a zombie: an orphan killed here is reparented to
// pid 1, which may be slow to reap it (or never does, in a container).
bool process_alive(pid_t pid) {
  if (::kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto close_paren = line.rfind(')');
  return close_paren == std::string::npos || close_paren + 2 >= line.size() ||
         (line[close_paren + 2] != 'Z' && line[close_paren + 2] != 'X');
}

bool dies_within(pid_t pid, std::chrono::seconds bound) {
  const auto until = std::chrono::steady_clock::now() + bound;
  while (process_alive(pid)) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

pid_t grandchild_pid(const std::string& out) {
  auto at = out.find("GRANDCHILD ");
  if (at == std::string::npos) return -1;
  return static_cast<pid_t>(std::atoi(out.c_str() + at + 11));
}

long self_max_rss_kib() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

void expect_exited(const RunResult& r, int code) {
  EXPECT_TRUE(r.started) << r.start_error;
  EXPECT_EQ(r.exit_code, code) << "stderr: " << r.err.text;
  EXPECT_FALSE(r.signal.has_value());
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(r.cancelled);
  EXPECT_FALSE(r.escalated_to_kill);
  EXPECT_LT(r.duration, kDidNotHang);
}

TEST(RunProcess, CapturesStdoutOfASuccessfulRun) {
  RunResult r = run_process(child_request({"ok"}));
  expect_exited(r, 0);
  EXPECT_GT(r.pid, 0);
  EXPECT_EQ(r.out.text, "DONE\n");
  EXPECT_EQ(r.out.total_bytes, 5u);
  EXPECT_EQ(r.out.dropped_bytes, 0u);
  EXPECT_EQ(r.err.text, "");
  EXPECT_GT(r.duration, 0ns);
  EXPECT_GT(r.max_rss_bytes, 0u);
}

TEST(RunProcess, ReportsANonZeroExitCode) {
  expect_exited(run_process(child_request({"exit", "3"})), 3);
}

TEST(RunProcess, KeepsStdoutAndStderrApart) {
  RunResult r = run_process(child_request({"both"}));
  expect_exited(r, 0);
  EXPECT_EQ(r.out.text, "to-out\n");
  EXPECT_EQ(r.err.text, "to-err\n");
}

TEST(RunProcess, ReportsASegfaultAsSignalWithOutputBeforeIt) {
  RunResult r = run_process(child_request({"segv"}));
  EXPECT_TRUE(r.started);
  EXPECT_FALSE(r.exit_code.has_value());
  ASSERT_TRUE(r.signal.has_value());
  EXPECT_EQ(signal_name(*r.signal), "SIGSEGV");
  EXPECT_EQ(r.out.text, "before-crash\n");
  EXPECT_FALSE(r.timed_out);
  EXPECT_LT(r.duration, kDidNotHang);
}

TEST(RunProcess, ReportsAbortAndBusError) {
  RunResult aborted = run_process(child_request({"abort"}));
  ASSERT_TRUE(aborted.signal.has_value());
  EXPECT_EQ(signal_name(*aborted.signal), "SIGABRT");
  RunResult bus = run_process(child_request({"bus"}));
  ASSERT_TRUE(bus.signal.has_value());
  EXPECT_EQ(signal_name(*bus.signal), "SIGBUS");
  EXPECT_FALSE(bus.exit_code.has_value());
}

TEST(RunProcess, TimeoutTerminatesAHungChildWithSigterm) {
  RunRequest request = child_request({"hang"});
  request.timeout = 300ms;
  request.kill_grace = 5s;
  RunResult r = run_process(request);
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.cancelled);
  EXPECT_FALSE(r.escalated_to_kill);
  ASSERT_TRUE(r.signal.has_value());
  EXPECT_EQ(signal_name(*r.signal), "SIGTERM");
  EXPECT_GE(r.duration, 300ms);  // not stopped before its time
  EXPECT_LT(r.duration, kDidNotHang);
}

TEST(RunProcess, EscalatesToSigkillWhenSigtermIsIgnored) {
  RunRequest request = child_request({"ignore-term"});
  request.timeout = 2s;  // time for the child to ignore SIGTERM before it comes
  request.kill_grace = 300ms;
  RunResult r = run_process(request);
  ASSERT_EQ(r.out.text, "READY\n");
  EXPECT_TRUE(r.timed_out);
  EXPECT_TRUE(r.escalated_to_kill);
  ASSERT_TRUE(r.signal.has_value());
  EXPECT_EQ(signal_name(*r.signal), "SIGKILL");
  EXPECT_GE(r.duration, 2300ms);
  EXPECT_LT(r.duration, 2s + kDidNotHang);
}

TEST(RunProcess, ContinuesAStoppedChildSoThatSigtermEndsIt) {
  RunRequest request = child_request({"stop"});
  request.timeout = 1s;
  request.kill_grace = 20s;  // an escalation would show as a SIGKILL, or as a hang
  RunResult r = run_process(request);
  EXPECT_EQ(r.out.text, "STOPPING\n");
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.escalated_to_kill);
  ASSERT_TRUE(r.signal.has_value());
  EXPECT_EQ(signal_name(*r.signal), "SIGTERM");
  EXPECT_LT(r.duration, kDidNotHang);
}

TEST(RunProcess, CancelStopsTheRunFromAnotherThread) {
  std::atomic<bool> cancel{false};
  RunRequest request = child_request({"hang"});
  request.cancel = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(200ms);
    cancel = true;
  });
  RunResult r = run_process(request);
  canceller.join();
  EXPECT_TRUE(r.started);
  EXPECT_TRUE(r.cancelled);
  EXPECT_FALSE(r.timed_out);
  ASSERT_TRUE(r.signal.has_value());
  EXPECT_EQ(signal_name(*r.signal), "SIGTERM");
  EXPECT_GE(r.duration, 200ms);
  EXPECT_LT(r.duration, kDidNotHang);
}

TEST(RunProcess, StartsNothingWhenAlreadyCancelled) {
  std::atomic<bool> cancel{true};
  RunRequest request = child_request({"ok"});
  request.cancel = &cancel;
  RunResult r = run_process(request);
  EXPECT_FALSE(r.started);
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.pid, -1);
  EXPECT_FALSE(r.start_error.empty());
}

TEST(RunProcess, KeepsHeadAndTailOfAFloodWithinTheCap) {
  // Not multiples of the cap, so the tail ring ends at an arbitrary offset.
  constexpr std::uint64_t kOut = (200ull << 20) + 12345;
  constexpr std::uint64_t kErr = (20ull << 20) + 777;
  constexpr std::size_t kCap = 1u << 20;
  RunRequest request = child_request({"flood", std::to_string(kOut), std::to_string(kErr)});
  request.output_cap_bytes = kCap;
  const long rss_before_kib = self_max_rss_kib();
  RunResult r = run_process(request);
  const long rss_growth_kib = self_max_rss_kib() - rss_before_kib;

  expect_exited(r, 0);
  for (auto [stream, total] : {std::pair{&r.out, kOut}, std::pair{&r.err, kErr}}) {
    EXPECT_EQ(stream->total_bytes, total);
    EXPECT_EQ(stream->dropped_bytes, total - kCap);
    const std::string m = marker(total - kCap);
    ASSERT_EQ(stream->text.size(), kCap + m.size());
    EXPECT_EQ(stream->text.substr(0, kCap / 2), pattern(0, kCap / 2));
    EXPECT_EQ(stream->text.substr(kCap / 2, m.size()), m);
    EXPECT_EQ(stream->text.substr(kCap / 2 + m.size()), pattern(total - kCap / 2, total));
  }
  // 220 MB went through; what the driver held is two capped streams and a read buffer.
  EXPECT_LT(rss_growth_kib, 64 * 1024);
}

TEST(RunProcess, PutsTheMarkerExactlyBetweenHeadAndTail) {
  // An odd cap, 100000 bytes of head and 100001 of tail: larger than one read from a pipe, so
  // the tail wraps around its ring at uneven offsets.
  RunRequest request = child_request({"flood", "1000003", "0"});
  request.output_cap_bytes = 200001;
  RunResult r = run_process(request);
  expect_exited(r, 0);
  EXPECT_EQ(r.out.text, pattern(0, 100000) + marker(800002) + pattern(1000003 - 100001, 1000003));
  EXPECT_EQ(r.out.dropped_bytes, 800002u);

  // A cap smaller than a read: the tail is replaced whole.
  request.output_cap_bytes = 1001;
  RunResult small = run_process(request);
  EXPECT_EQ(small.out.text, pattern(0, 500) + marker(999002) + pattern(1000003 - 501, 1000003));
}

TEST(RunProcess, KeepsEverythingUnderTheCapWithoutMarker) {
  RunRequest request = child_request({"flood", "300000", "1000"});
  request.output_cap_bytes = 300000;
  RunResult r = run_process(request);
  expect_exited(r, 0);
  EXPECT_EQ(r.out.text, pattern(0, 300000));
  EXPECT_EQ(r.out.dropped_bytes, 0u);
  EXPECT_EQ(r.err.text, pattern(0, 1000));
}

TEST(RunProcess, KeepsOnlyTheMarkerWithAZeroCap) {
  RunRequest request = child_request({"flood", "1000", "0"});
  request.output_cap_bytes = 0;
  RunResult r = run_process(request);
  expect_exited(r, 0);
  EXPECT_EQ(r.out.text, marker(1000));
  EXPECT_EQ(r.out.total_bytes, 1000u);
}

TEST(RunProcess, ReturnsPromptlyAndKillsAGrandchildHoldingThePipes) {
  RunResult r = run_process(child_request({"grandchild"}));
  expect_exited(r, 0);  // includes: well before the 60 s timeout
  const pid_t grandchild = grandchild_pid(r.out.text);
  ASSERT_GT(grandchild, 0) << r.out.text;
  EXPECT_TRUE(dies_within(grandchild, 5s));
}

// Each way out of the process group the runner made: setsid, setpgid, and a double fork whose
// middle process exits. A group kill alone misses each (the child shows the escaped process in a
// group of its own); the run's cgroup does not, and the run counts it.
class EscapeRoute : public ::testing::TestWithParam<const char*> {};

TEST_P(EscapeRoute, NoDescendantOutlivesTheRun) {
  const ContainmentSupport& support = containment_support();
  if (support.mechanism != "cgroup2") {
    GTEST_SKIP() << "no cgroup2 with cgroup.kill here (" << support.why_not
                 << "): descendants that leave the group are beyond reach";
  }
  RunResult r = run_process(child_request({"escape", GetParam()}));
  expect_exited(r, 0);
  const pid_t escaped = grandchild_pid(r.out.text);
  ASSERT_GT(escaped, 0) << r.out.text;
  const auto group_at = r.out.text.find("GROUP ");
  ASSERT_NE(group_at, std::string::npos) << r.out.text;
  EXPECT_NE(std::atoi(r.out.text.c_str() + group_at + 6), r.pid)
      << "the descendant never left the run's group: " << r.out.text;
  const bool died = dies_within(escaped, 5s);
  if (!died) ::kill(escaped, SIGKILL);
  EXPECT_TRUE(died) << "pid " << escaped << " (" << GetParam() << ") outlived its run";
  EXPECT_EQ(r.contained_by, "cgroup2");
  EXPECT_EQ(r.escaped_processes, 1u);
}

INSTANTIATE_TEST_SUITE_P(RunProcess, EscapeRoute, ::testing::Values("setsid", "setpgid", "daemon"));

// The child is in its run's cgroup from its first instruction: started there by clone3, or
// moved there before exec where the kernel refuses clone3 (FAULTLINE_NO_CLONE_INTO_CGROUP takes
// that path on purpose).
class CgroupEntry : public ::testing::TestWithParam<bool> {};

TEST_P(CgroupEntry, TheChildRunsInItsRunsCgroup) {
  const ContainmentSupport& support = containment_support();
  if (support.mechanism != "cgroup2") GTEST_SKIP() << "no cgroup2 here (" << support.why_not << ")";
  const bool by_clone = GetParam();
  if (!by_clone) ::setenv("FAULTLINE_NO_CLONE_INTO_CGROUP", "1", 1);
  RunResult r = run_process(child_request({"cgroup"}));
  ::unsetenv("FAULTLINE_NO_CLONE_INTO_CGROUP");
  expect_exited(r, 0);
  const std::string own = "/faultline-" + std::to_string(::getpid()) + "-";
  const auto at = r.out.text.find("CGROUP ");
  ASSERT_NE(at, std::string::npos) << r.out.text;
  const std::string line = r.out.text.substr(at, r.out.text.find('\n', at) - at);
  EXPECT_NE(line.find(own), std::string::npos) << line << " is not a run cgroup of " << own;
  // clone3 with CLONE_INTO_CGROUP is Linux 5.7; this kernel is newer (docs/performance.md).
  EXPECT_EQ(r.started_in_cgroup, by_clone);
}

INSTANTIATE_TEST_SUITE_P(RunProcess, CgroupEntry, ::testing::Bool());

TEST(RunProcess, ARunWhoseDescendantsStayedInItsGroupCountsNoEscape) {
  RunResult r = run_process(child_request({"grandchild"}));
  expect_exited(r, 0);
  EXPECT_EQ(r.escaped_processes, 0u);
  EXPECT_EQ(r.contained_by, containment_support().mechanism);
}

TEST(RunProcess, TimeoutKillsTheWholeGroup) {
  RunRequest request = child_request({"grandchild", "hang"});
  request.timeout = 500ms;
  RunResult r = run_process(request);
  EXPECT_TRUE(r.timed_out);
  EXPECT_LT(r.duration, kDidNotHang);
  const pid_t grandchild = grandchild_pid(r.out.text);
  ASSERT_GT(grandchild, 0) << r.out.text;
  EXPECT_TRUE(dies_within(grandchild, 5s));
}

// RunRequest::answer sees stderr as it arrives; its yes ends the run there, long before the
// child's own end, and the result says so. Without a yes the run goes on to its end.
TEST(RunProcess, AnAnswerEndsTheRunThere) {
  RunRequest request;
  request.argv = {"/bin/sh", "-c", "echo noise >&2; sleep 0.2; echo ANSWER >&2; exec sleep 30"};
  request.timeout = 60s;
  std::string seen;
  request.answer = [&seen](std::string_view chunk) {
    seen.append(chunk);
    return seen.find("ANSWER\n") != std::string::npos;
  };
  RunResult r = run_process(request);
  EXPECT_TRUE(r.ended_at_answer);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_LT(r.duration, kDidNotHang);
  EXPECT_NE(r.err.text.find("ANSWER"), std::string::npos);

  request.argv = {"/bin/sh", "-c", "echo ANSWER >&2; echo done"};
  seen.clear();
  request.answer = [&seen](std::string_view chunk) {
    seen.append(chunk);
    return seen.find("never") != std::string::npos;
  };
  r = run_process(request);
  expect_exited(r, 0);
  EXPECT_FALSE(r.ended_at_answer);
}

TEST(RunProcess, SigtermReachesTheWholeGroup) {
  RunRequest request = child_request({"grandchild-term"});
  request.timeout = 1s;
  request.kill_grace = 2s;  // the grandchild's time to report that SIGTERM reached it
  RunResult r = run_process(request);
  EXPECT_TRUE(r.timed_out);
  EXPECT_TRUE(r.escalated_to_kill);  // the child itself ignores SIGTERM
  const pid_t grandchild = grandchild_pid(r.out.text);
  ASSERT_GT(grandchild, 0) << r.out.text;
  EXPECT_NE(r.out.text.find("TERM-REACHED-GRANDCHILD\n"), std::string::npos) << r.out.text;
  EXPECT_TRUE(dies_within(grandchild, 5s));
  EXPECT_LT(r.duration, 3s + kDidNotHang);
}

TEST(RunProcess, ChildDiesWithTheDriver) {
  char dir[] = "/tmp/faultline-runner-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string pidfile = std::string(dir) + "/child.pid";
  // A stand-in driver: a forked copy of this test that runs a child and is killed mid-run.
  const pid_t driver = ::fork();
  ASSERT_GE(driver, 0);
  if (driver == 0) {
    run_process(child_request({"pidfile", pidfile}));
    ::_exit(0);
  }
  pid_t child = -1;
  for (int i = 0; i < 1000 && child <= 0; ++i) {
    std::ifstream in(pidfile);
    if (!(in >> child)) std::this_thread::sleep_for(10ms);
  }
  ::kill(driver, SIGKILL);
  ::waitpid(driver, nullptr, 0);
  ::unlink(pidfile.c_str());
  ::rmdir(dir);
  ASSERT_GT(child, 0) << "the child never wrote its pid";
  EXPECT_TRUE(dies_within(child, 5s));
}

TEST(RunProcess, NoticesAnExitAfterTheChildClosedItsOutput) {
  RunResult r = run_process(child_request({"close-stdio", "300", "5"}));
  expect_exited(r, 5);
  EXPECT_GE(r.duration, 300ms);
}

TEST(RunProcess, AddressSpaceLimitMakesAllocationFailCleanly) {
  RunRequest request = child_request({"alloc", std::to_string(1ull << 30)});
  request.limits.address_space_bytes = 256ull << 20;
  RunResult r = run_process(request);
  expect_exited(r, 4);
  EXPECT_EQ(r.out.text, "RLIMIT_AS=" + std::to_string(256ull << 20) + "\nbad_alloc\n");
}

TEST(RunProcess, OpenFilesLimitAppliesAndNoDriverFdLeaksIn) {
  // Not CLOEXEC, as a careless part of the driver might open it: the child must not get it.
  int leaky = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(leaky, 0);
  RunRequest request = child_request({"fds"});
  request.limits.open_files = 16;
  RunResult r = run_process(request);
  ::close(leaky);
  expect_exited(r, 0);
  EXPECT_EQ(r.out.text, "FIRST_FD 3\nOPENED 13\nERRNO EMFILE\n");
}

TEST(RunProcess, AppliesLimitsAndCapsThemToTheDriversHardLimit) {
  rlimit files{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &files), 0);
  RunRequest request = child_request({"limits"});
  request.limits.open_files = files.rlim_max == RLIM_INFINITY ? 4096 : files.rlim_max + 1000;
  request.limits.processes = 64;
  RunResult r = run_process(request);
  expect_exited(r, 0);
  const std::string expected_files =
      files.rlim_max == RLIM_INFINITY ? "4096" : std::to_string(files.rlim_max);
  EXPECT_NE(r.out.text.find("RLIMIT_NOFILE=" + expected_files + "\n"), std::string::npos)
      << r.out.text;
  EXPECT_NE(r.out.text.find("RLIMIT_NPROC=64\n"), std::string::npos) << r.out.text;
  EXPECT_NE(r.out.text.find("RLIMIT_CORE=0\n"), std::string::npos) << r.out.text;
}

TEST(RunProcess, ReportsANonexistentProgramAsNotStarted) {
  RunRequest request;
  request.argv = {"/nonexistent/faultline-no-such-program", "--flag"};
  RunResult r = run_process(request);
  EXPECT_FALSE(r.started);
  EXPECT_EQ(r.start_errno, ENOENT);
  EXPECT_NE(r.start_error.find("/nonexistent/faultline-no-such-program"), std::string::npos);
  EXPECT_NE(r.start_error.find("No such file"), std::string::npos) << r.start_error;
  EXPECT_FALSE(r.exit_code.has_value());
  EXPECT_FALSE(r.signal.has_value());
  EXPECT_LT(r.duration, kDidNotHang);
}

TEST(RunProcess, ReportsAFileWithoutExecutePermissionAsNotStarted) {
  char path[] = "/tmp/faultline-runner-test-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  ::chmod(path, 0644);
  RunRequest request;
  request.argv = {path};
  RunResult r = run_process(request);
  ::unlink(path);
  EXPECT_FALSE(r.started);
  EXPECT_EQ(r.start_errno, EACCES) << r.start_error;
  EXPECT_NE(r.start_error.find("Permission denied"), std::string::npos) << r.start_error;
}

TEST(RunProcess, LooksUpABareNameInPath) {
  RunRequest request;
  request.argv = {"sh", "-c", "echo via-path"};
  RunResult r = run_process(request);
  expect_exited(r, 0);
  EXPECT_EQ(r.out.text, "via-path\n");

  request.argv = {"faultline-no-such-program-anywhere"};
  RunResult missing = run_process(request);
  EXPECT_FALSE(missing.started);
  EXPECT_EQ(missing.start_errno, ENOENT);
  EXPECT_NE(missing.start_error.find("not found in PATH"), std::string::npos);
}

TEST(RunProcess, RejectsAnEmptyCommand) {
  RunResult r = run_process(RunRequest{});
  EXPECT_FALSE(r.started);
  EXPECT_FALSE(r.start_error.empty());
}

TEST(RunProcess, SetsEnvironmentOnTopOfTheDrivers) {
  ::setenv("FL_RUNNER_INHERITED", "yes", 1);
  ::setenv("FL_RUNNER_OVERRIDE", "old", 1);
  RunRequest request =
      child_request({"env", "FL_RUNNER_INHERITED", "FL_RUNNER_OVERRIDE", "FL_RUNNER_ADDED"});
  request.env = {{"FL_RUNNER_OVERRIDE", "new"}, {"FL_RUNNER_ADDED", "1"}, {"FL_RUNNER_ADDED", "2"}};
  RunResult r = run_process(request);
  ::unsetenv("FL_RUNNER_INHERITED");
  ::unsetenv("FL_RUNNER_OVERRIDE");
  expect_exited(r, 0);
  EXPECT_EQ(r.out.text,
            "FL_RUNNER_INHERITED=yes (1)\nFL_RUNNER_OVERRIDE=new (1)\nFL_RUNNER_ADDED=2 (1)\n");
}

TEST(RunProcess, GivesTheChildAnEmptyStdin) {
  RunResult r = run_process(child_request({"stdin"}));
  expect_exited(r, 0);
  EXPECT_EQ(r.out.text, "STDIN-EOF\n");
}

TEST(RunProcess, StartsTheChildWithDefaultSignalsWhateverTheDriverSet) {
  sigset_t usr1, previous_mask;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ::pthread_sigmask(SIG_BLOCK, &usr1, &previous_mask);
  struct sigaction ignore {
  }, previous_pipe{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &previous_pipe);
  RunResult r = run_process(child_request({"signals"}));
  ::sigaction(SIGPIPE, &previous_pipe, nullptr);
  ::pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
  expect_exited(r, 0);
  EXPECT_EQ(r.out.text, "BLOCKED 0\nSIGPIPE default\n");
}

TEST(RunProcess, ReportsThePeakRssOfTheChild) {
  constexpr std::uint64_t kBytes = 64ull << 20;
  RunResult r = run_process(child_request({"rss", std::to_string(kBytes)}));
  expect_exited(r, 0);
  EXPECT_GE(r.max_rss_bytes, kBytes);
}

TEST(RunProcess, RunsFromSeveralThreadsAtOnce) {
  constexpr int kThreads = 4;
  constexpr int kRunsEach = 6;
  std::vector<std::string> failures[kThreads];
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &failures] {
      for (int i = 0; i < kRunsEach; ++i) {
        const int code = (t * kRunsEach + i) % 7;
        RunResult r = run_process(child_request({"exit", std::to_string(code)}));
        if (r.exit_code != code) failures[t].push_back("exit " + std::to_string(code));
        RunResult flood = run_process(child_request({"flood", "70000", "30000"}));
        if (flood.out.text != pattern(0, 70000) || flood.err.text != pattern(0, 30000)) {
          failures[t].push_back("flood output mixed up");
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_TRUE(failures[t].empty()) << failures[t].front();
}

TEST(SignalName, NamesCommonSignalsAndFallsBackToNumbers) {
  EXPECT_EQ(signal_name(SIGSEGV), "SIGSEGV");
  EXPECT_EQ(signal_name(SIGABRT), "SIGABRT");
  EXPECT_EQ(signal_name(SIGBUS), "SIGBUS");
  EXPECT_EQ(signal_name(SIGKILL), "SIGKILL");
  EXPECT_EQ(signal_name(SIGTERM), "SIGTERM");
  EXPECT_EQ(signal_name(SIGFPE), "SIGFPE");
  EXPECT_EQ(signal_name(SIGRTMIN + 2), "SIGRTMIN+2");
  EXPECT_EQ(signal_name(0), "SIG0");
  EXPECT_EQ(signal_name(1000), "SIG1000");
}

}  // namespace
}  // namespace faultline
