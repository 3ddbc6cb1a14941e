// Every scenario server under the nemesis, end to end: listener-lifetime's reactor and
// broadcast-leak's broadcast server as --serve processes that are paused, killed and restarted,
// with their oracles read from the server process; deadline-race's clients redialling after a
// kill. Each test runs the scenario binary of this build with a report file and reads the report
// (timeline, metrics, observations), as the driver would. Short runs (1-3 s); times are chosen
// with room for two loaded cores.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

struct Report {
  int exit_code = -1;
  bool done = false;
  std::vector<nlohmann::json> timeline;
  std::map<std::string, double> metrics;
  std::map<std::string, std::uint64_t> observations;
  std::map<std::string, std::string> details;
  std::vector<std::string> notes;

  // The timeline events named `what` (nemesis.pause, nemesis.kill, ...).
  std::vector<std::string> events(const std::string& what) const {
    std::vector<std::string> out;
    for (const auto& e : timeline) {
      if (e.value("what", "") == what) out.push_back(e.value("detail", ""));
    }
    return out;
  }
};

Report run_scenario(const std::string& binary, const std::string& args) {
  const auto path =
      std::filesystem::temp_directory_path() / fmt::format("nemesis_scenario_{}.jsonl", ::getpid());
  std::filesystem::remove(path);
  const int status = std::system(
      fmt::format("{} {} --report {} >/dev/null 2>&1", binary, args, path.string()).c_str());
  Report r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const auto e = nlohmann::json::parse(line);
    const std::string type = e.value("type", "");
    if (type == "timeline") r.timeline.push_back(e);
    if (type == "metric") r.metrics[e["name"]] = e["value"].get<double>();
    if (type == "observation") {
      r.observations[e["kind"]] = e["count"].get<std::uint64_t>();
      r.details[e["kind"]] = e.value("detail", "");
    }
    if (type == "note") r.notes.push_back(e["text"]);
    if (type == "done") r.done = true;
  }
  std::filesystem::remove(path);
  return r;
}

// The pid a detail names after `word` ("SIGKILL pid 123", "pid 456 listening"), or -1.
long pid_after(const std::string& detail, const std::string& word) {
  const auto at = detail.find(word);
  return at == std::string::npos ? -1 : std::strtol(detail.c_str() + at + word.size(), nullptr, 10);
}

// A kill followed by its restart: the server's pid changed.
void expect_new_pid_after_the_kill(const Report& r) {
  const auto kills = r.events("nemesis.kill");
  const auto restarts = r.events("nemesis.restart");
  ASSERT_EQ(kills.size(), 1u);
  ASSERT_EQ(restarts.size(), 1u);
  const long killed = pid_after(kills[0], "SIGKILL pid ");
  const long started = pid_after(restarts[0], ": pid ");
  EXPECT_GT(killed, 0) << kills[0];
  EXPECT_GT(started, 0) << restarts[0];
  EXPECT_NE(killed, started) << kills[0] << " / " << restarts[0];
}

TEST(ListenerLifetimeUnderNemesis, PausedKilledRestartedAndOnlyLiveRefusalsCount) {
  // Fixed: the listener lives as long as the reactor, so every refusal is the nemesis's doing.
  const Report r = run_scenario(FAULTLINE_LISTENER_LIFETIME,
                                "--variant fixed --seed 7 --set bursts=10 --set gap-ms=60 "
                                "--nemesis pause:at=0.05,for=0.1 --nemesis kill:at=0.3,for=0.2");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.events("nemesis.pause").size(), 1u);
  EXPECT_EQ(r.events("nemesis.resume").size(), 1u);
  expect_new_pid_after_the_kill(r);
  // Bursts 60 ms apart meet the 200 ms outage: refused there, and counted apart.
  EXPECT_GT(r.metrics.at("conn_refused_server_down"), 0);
  EXPECT_EQ(r.observations.at("conn_refused"), 0u) << r.details.at("conn_refused");
  EXPECT_NE(r.details.at("conn_refused").find("(server down)"), std::string::npos);
  // The counters of both incarnations: the first accepted before the kill, the second after.
  EXPECT_GT(r.metrics.at("server_accepted"), r.metrics.at("connects_ok") / 2);
}

TEST(ListenerLifetimeUnderNemesis, BuggyServerProcessIsReclaimedOnAPokeAndRefuses) {
  const Report r =
      run_scenario(FAULTLINE_LISTENER_LIFETIME, "--variant buggy --seed 7 --set server=process");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.metrics.at("reclaim_cycles"), 1);
  EXPECT_EQ(r.metrics.at("reclaimer_finalized"), 1);  // SIGUSR1 ran the cycle in the server
  EXPECT_GE(r.metrics.at("server_listener_gone"), 1);
  EXPECT_GT(r.observations.at("conn_refused"), 0u);
  EXPECT_EQ(r.metrics.at("conn_refused_server_down"), 0);
}

TEST(BroadcastLeakUnderNemesis, CountsTheServerProcessThreadsThroughAPause) {
  const Report r = run_scenario(FAULTLINE_BROADCAST_LEAK,
                                "--variant buggy --seed 3 --set broadcasts=4 --set interval-ms=50 "
                                "--nemesis pause:at=0.2,for=0.2");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.events("nemesis.pause").size(), 1u);
  EXPECT_EQ(r.events("nemesis.resume").size(), 1u);
  // The server process alone: its main, accept and UDP threads, none of this process's.
  EXPECT_EQ(r.metrics.at("threads_baseline"), 3);
  EXPECT_GT(r.metrics.at("broadcasts_timed_out"), 0);
  EXPECT_EQ(r.observations.at("thread_leak"), r.metrics.at("broadcasts_timed_out"))
      << r.details.at("thread_leak");
  EXPECT_NE(r.details.at("thread_leak").find("of the server process"), std::string::npos);
}

TEST(BroadcastLeakUnderNemesis, ARestartEndsTheLeakedThreadsWithTheirProcess) {
  // Two broadcasts leak a worker each, then the server is killed and started again: the final
  // count is the new incarnation's (no users reconnect, so it has nothing to push and no leak).
  const Report r = run_scenario(FAULTLINE_BROADCAST_LEAK,
                                "--variant buggy --seed 3 --set broadcasts=4 --set interval-ms=50 "
                                "--nemesis kill:at=0.9,for=0.1");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.done);
  expect_new_pid_after_the_kill(r);
  EXPECT_GE(r.metrics.at("threads_peak"), r.metrics.at("threads_baseline") + 2);
  EXPECT_EQ(r.metrics.at("threads_final"), r.metrics.at("threads_baseline"));
  EXPECT_EQ(r.observations.at("thread_leak"), 0u) << r.details.at("thread_leak");
  EXPECT_GE(r.metrics.at("broadcasts_timed_out"), 2);  // both incarnations' counters
}

TEST(DeadlineRaceUnderNemesis, FixedClientsRedialAndCommitNothingTwice) {
  const Report r = run_scenario(FAULTLINE_DEADLINE_RACE,
                                "--variant fixed --seed 11 --nemesis kill:at=0.2,for=0.2");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.done);
  expect_new_pid_after_the_kill(r);
  // Every client lost its connection at the kill and dialled the restarted server.
  EXPECT_GE(r.metrics.at("reconnects"), r.metrics.at("ops") / 25);
  EXPECT_GT(r.metrics.at("failed_dials"), 0);  // refused while the server was down
  EXPECT_EQ(r.observations.at("duplicate_commit"), 0u) << r.details.at("duplicate_commit");
  EXPECT_EQ(r.observations.at("inconsistent_outcome"), 0u) << r.details.at("inconsistent_outcome");
  // After the restart the clients went on: most operations committed.
  EXPECT_GT(r.metrics.at("committed_ops"), r.metrics.at("ops") / 2);
}

TEST(DeadlineRaceUnderNemesis, BuggyClientsRedialAndStillCommitTwice) {
  const Report r = run_scenario(FAULTLINE_DEADLINE_RACE,
                                "--variant buggy --seed 11 --nemesis kill:at=0.2,for=0.2");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.done);
  EXPECT_GT(r.metrics.at("reconnects"), 0);
  EXPECT_GT(r.observations.at("duplicate_commit"), 0u);
}

}  // namespace
