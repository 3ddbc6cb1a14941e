// The real standalone RPC server (faultline-rpc-server) under ServerProcess and the Nemesis.
// Bounds on time are one-sided where the fault guarantees a minimum (a pause stalls a call at
// least as long as it lasts) and generous above: the machine may have two loaded cores.
#include "harness/nemesis/server_process.h"

#include <dirent.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness/nemesis/nemesis.h"
#include "harness/scenario/scenario_api.h"
#include "servers/rpc/client.h"
#include "servers/rpc/messages.h"

namespace faultline::nemesis {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using rpc::CallOutcome;
using rpc::CallResult;
using rpc::Client;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Pids of this process's children, from /proc (zombies included: a zombie is a child not reaped).
std::vector<pid_t> children_of_this_process() {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  const pid_t self = ::getpid();
  while (auto* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    std::ifstream stat(fmt::format("/proc/{}/stat", pid));
    std::string line;
    if (!std::getline(stat, line)) continue;
    // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    long ppid = 0;
    if (std::sscanf(line.c_str() + close + 1, " %c %ld", &state, &ppid) != 2) continue;
    if (ppid == self) out.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(d);
  return out;
}

// 'R', 'S', 'T' (stopped), 'Z' (zombie)...; 0 if the process does not exist.
char process_state(pid_t pid) {
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string line;
  if (!std::getline(stat, line)) return 0;
  auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() ? 0 : line[close + 2];
}

class ServerProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(FAULTLINE_RPC_SERVER)) << FAULTLINE_RPC_SERVER;
    ASSERT_TRUE(children_of_this_process().empty()) << "a child left over by an earlier test";
    io_thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    work_.reset();
    io_.stop();
    io_thread_.join();
  }

  // One Arith.Divide over a fresh connection, or over `client` when given.
  CallResult divide(std::uint16_t port, std::chrono::milliseconds timeout = 5000ms,
                    std::shared_ptr<Client> client = nullptr) {
    if (!client) client = Client::dial(io_, port);
    auto reply = std::make_shared<rpc::DivideReply>();
    auto r = client->call(
        rpc::kDivideMethod, rpc::encode_divide_args({10, 3}),
        [reply](const std::string& body) { rpc::decode_divide_reply(body, *reply); }, {}, timeout);
    if (r.outcome == CallOutcome::kReplied && r.status == rpc::Status::kOk) {
      EXPECT_EQ(reply->quotient["Quo"], 3);
    }
    return r;
  }
  static bool ok(const CallResult& r) {
    return r.outcome == CallOutcome::kReplied && r.status == rpc::Status::kOk;
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::thread io_thread_;
};

TEST_F(ServerProcessTest, StartsServesAndStopsWithNothingLeft) {
  pid_t pid = -1;
  {
    ServerProcess server(FAULTLINE_RPC_SERVER, {"--threads", "2"});
    server.start();
    pid = server.pid();
    EXPECT_GT(pid, 0);
    EXPECT_GT(server.port(), 0);
    EXPECT_EQ(server.state(), ServerProcess::State::kRunning);
    EXPECT_EQ(children_of_this_process(), std::vector<pid_t>{pid});
    EXPECT_TRUE(ok(divide(server.port())));
    int status = server.stop();
    // SIGTERM is a clean stop for the server: it exits 0 and prints what it served.
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_NE(server.output().find("stopped: 1 connections, 1 requests"), std::string::npos)
        << server.output();
    EXPECT_EQ(server.state(), ServerProcess::State::kDown);
    EXPECT_EQ(server.stop(), -1);  // idempotent
  }
  EXPECT_TRUE(children_of_this_process().empty());
  EXPECT_EQ(process_state(pid), 0);
}

TEST_F(ServerProcessTest, MissingBinaryNamesTheBuildCommand) {
  try {
    find_server_binary("faultline-no-such-server");
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("faultline-no-such-server is missing"), std::string::npos) << m;
    EXPECT_NE(m.find("cmake --build"), std::string::npos) << m;
  }
  ServerProcess bad("/nonexistent/faultline-rpc-server", {});
  EXPECT_THROW(bad.start(), std::runtime_error);
  EXPECT_TRUE(children_of_this_process().empty());
}

TEST_F(ServerProcessTest, RestartsOnTheSamePort) {
  ServerProcess server(FAULTLINE_RPC_SERVER, {});
  server.start();
  const auto port = server.port();
  const pid_t first = server.pid();
  auto client = Client::dial(io_, port);  // a live connection: its socket lingers after the kill
  ASSERT_TRUE(ok(divide(port, 5000ms, client)));
  server.restart();
  EXPECT_EQ(server.port(), port);
  EXPECT_NE(server.pid(), first);
  EXPECT_EQ(process_state(first), 0);  // the first incarnation was reaped
  EXPECT_TRUE(ok(divide(port)));
  server.stop();
  EXPECT_TRUE(children_of_this_process().empty());
}

TEST_F(ServerProcessTest, PausedServerStallsItsClientsForThePause) {
  ServerProcess server(FAULTLINE_RPC_SERVER, {});
  server.start();
  auto client = Client::dial(io_, server.port());
  ASSERT_TRUE(ok(divide(server.port(), 5000ms, client)));
  ASSERT_TRUE(server.pause());
  EXPECT_EQ(process_state(server.pid()), 'T');
  EXPECT_FALSE(server.pause());  // already paused
  auto t0 = Clock::now();
  std::thread resumer([&] {
    std::this_thread::sleep_for(300ms);
    server.resume();
  });
  auto r = divide(server.port(), 10'000ms, client);
  double latency = ms_since(t0);
  resumer.join();
  EXPECT_TRUE(ok(r));
  EXPECT_GE(latency, 290.0);   // the call waited out the pause
  EXPECT_LE(latency, 3000.0);  // and was answered soon after SIGCONT
  EXPECT_GE(server.paused_seconds(), 0.29);
  EXPECT_EQ(server.state(), ServerProcess::State::kRunning);
}

TEST_F(ServerProcessTest, KillFailsCallsAndRestartBringsThemBack) {
  ServerProcess server(FAULTLINE_RPC_SERVER, {});
  server.start();
  const auto port = server.port();
  auto client = Client::dial(io_, port);
  ASSERT_TRUE(ok(divide(port, 5000ms, client)));
  ASSERT_TRUE(server.kill());
  EXPECT_FALSE(server.kill());
  EXPECT_EQ(server.state(), ServerProcess::State::kDown);
  // The open connection is gone, and a new one is refused.
  auto r = divide(port, 5000ms, client);
  EXPECT_EQ(r.outcome, CallOutcome::kClosed);
  EXPECT_THROW(Client::dial(io_, port), boost::system::system_error);
  server.restart();
  EXPECT_TRUE(ok(divide(port)));
}

TEST_F(ServerProcessTest, StoppingAPausedServerLeavesNothingBehind) {
  pid_t pid = -1;
  {
    ServerProcess server(FAULTLINE_RPC_SERVER, {});
    server.start();
    pid = server.pid();
    ASSERT_TRUE(server.pause());
    // The destructor stops it: SIGCONT, SIGTERM, reap.
  }
  EXPECT_EQ(process_state(pid), 0);
  EXPECT_TRUE(children_of_this_process().empty());
}

// PR_SET_PDEATHSIG: a scenario that dies without stopping its server (a crash, _exit) takes the
// server with it, even a paused one.
TEST_F(ServerProcessTest, ServerDiesWithItsParentEvenWhenPaused) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t helper = ::fork();
  ASSERT_GE(helper, 0);
  if (helper == 0) {
    // The child runs the code under test and leaves without any clean-up.
    ::close(fds[0]);
    pid_t server_pid = -1;
    try {
      auto* server = new ServerProcess(FAULTLINE_RPC_SERVER, {});
      server->start();
      server->pause();
      server_pid = server->pid();
    } catch (...) {
    }
    (void)!::write(fds[1], &server_pid, sizeof server_pid);
    ::_exit(0);
  }
  ::close(fds[1]);
  pid_t server_pid = -1;
  ASSERT_EQ(::read(fds[0], &server_pid, sizeof server_pid),
            static_cast<ssize_t>(sizeof server_pid));
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(helper, &status, 0), helper);
  ASSERT_GT(server_pid, 0);
  // Gone, or a zombie waiting for whoever reaps orphans here: either way no longer running.
  auto until = Clock::now() + 10s;
  char state = process_state(server_pid);
  while (state != 0 && state != 'Z' && Clock::now() < until) {
    std::this_thread::sleep_for(10ms);
    state = process_state(server_pid);
  }
  EXPECT_TRUE(state == 0 || state == 'Z') << "server " << server_pid << " state " << state;
}

// The Nemesis end to end: the actions happen, stall and fail calls as they should, and land on
// the timeline of the report with their times.
TEST_F(ServerProcessTest, NemesisPausesKillsRestartsAndRecordsTheTimeline) {
  auto report_path =
      std::filesystem::temp_directory_path() / fmt::format("nemesis_test_{}.jsonl", ::getpid());
  std::filesystem::remove(report_path);
  ServerProcess server(FAULTLINE_RPC_SERVER, {});
  server.start();
  const auto port = server.port();
  auto client = Client::dial(io_, port);
  ASSERT_TRUE(ok(divide(port, 5000ms, client)));
  {
    Reporter reporter(report_path.string());
    Nemesis nemesis(parse_nemesis_specs({"pause:at=0.2,for=0.3", "kill:at=1.0", "restart:at=1.4"}),
                    1, server, reporter);
    auto t0 = Clock::now();
    nemesis.start();
    std::this_thread::sleep_for(300ms);  // inside the pause (0.2 .. 0.5 s)
    EXPECT_EQ(server.state(), ServerProcess::State::kPaused);
    auto call_start = Clock::now();
    auto r = divide(port, 10'000ms, client);
    EXPECT_TRUE(ok(r));
    // Sent at ~0.3 s into a pause that ends at 0.5 s: stalled until then at least.
    EXPECT_GE(std::chrono::duration<double>(Clock::now() - t0).count(), 0.49);
    EXPECT_GE(ms_since(call_start), 100.0);
    std::this_thread::sleep_until(t0 + 1200ms);  // killed, not yet restarted
    EXPECT_EQ(server.state(), ServerProcess::State::kDown);
    EXPECT_EQ(divide(port, 5000ms, client).outcome, CallOutcome::kClosed);
    std::this_thread::sleep_until(t0 + 1400ms);
    auto until = Clock::now() + 20s;
    while (server.state() != ServerProcess::State::kRunning && Clock::now() < until) {
      std::this_thread::sleep_for(10ms);
    }
    EXPECT_TRUE(ok(divide(port)));
    nemesis.stop();
    auto s = nemesis.stats();
    EXPECT_EQ(s.pauses, 1u);
    EXPECT_EQ(s.kills, 1u);
    EXPECT_EQ(s.restarts, 1u);
    EXPECT_EQ(s.skipped, 0u);
    EXPECT_GE(s.paused_s, 0.29);
    EXPECT_LE(s.paused_s, 3.0);
  }
  std::ifstream in(report_path);
  std::vector<std::pair<std::string, double>> timeline;
  std::map<std::string, double> metrics;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j["type"] == "timeline") timeline.emplace_back(j["what"], j["t"]);
    if (j["type"] == "metric") metrics[j["name"]] = j["value"];
  }
  std::filesystem::remove(report_path);
  ASSERT_EQ(timeline.size(), 5u);
  EXPECT_EQ(timeline[0].first, "nemesis.start");
  EXPECT_EQ(timeline[1].first, "nemesis.pause");
  EXPECT_EQ(timeline[2].first, "nemesis.resume");
  EXPECT_EQ(timeline[3].first, "nemesis.kill");
  EXPECT_EQ(timeline[4].first, "nemesis.restart");
  // The events are on the run clock; the plan counts from nemesis.start. Never early; late by
  // scheduling only.
  const double t0 = timeline[0].second;
  EXPECT_GE(t0, 0.0);
  const double planned[] = {0.2, 0.5, 1.0, 1.4};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_GE(timeline[i + 1].second - t0, planned[i] - 1e-3) << timeline[i + 1].first;
    EXPECT_LE(timeline[i + 1].second - t0, planned[i] + 1.0) << timeline[i + 1].first;
  }
  EXPECT_EQ(metrics["nemesis_pauses"], 1);
  EXPECT_EQ(metrics["nemesis_kills"], 1);
  EXPECT_EQ(metrics["nemesis_restarts"], 1);
  EXPECT_GE(metrics["nemesis_paused_s"], 0.29);
}

TEST_F(ServerProcessTest, NemesisStopResumesAPausedServer) {
  ServerProcess server(FAULTLINE_RPC_SERVER, {});
  server.start();
  Reporter reporter("");
  Nemesis nemesis(parse_nemesis_specs({"pause:at=0.05,for=60", "kill:at=30"}), 1, server, reporter);
  nemesis.start();
  auto until = Clock::now() + 10s;
  while (server.state() != ServerProcess::State::kPaused && Clock::now() < until) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(server.state(), ServerProcess::State::kPaused);
  auto t = Clock::now();
  nemesis.stop();
  EXPECT_LE(ms_since(t), 5000.0);  // stop() does not wait for the pause or the kill to be due
  EXPECT_EQ(server.state(), ServerProcess::State::kRunning);
  EXPECT_NE(process_state(server.pid()), 'T');
  EXPECT_TRUE(ok(divide(server.port())));
  EXPECT_EQ(nemesis.stats().kills, 0u);
}

TEST_F(ServerProcessTest, NemesisSkipsAPauseOfADownServer) {
  ServerProcess server(FAULTLINE_RPC_SERVER, {});
  server.start();
  Reporter reporter("");
  Nemesis nemesis(parse_nemesis_specs({"kill:at=0", "pause:at=0.2,for=0.1"}), 1, server, reporter);
  nemesis.start();
  auto until = Clock::now() + 10s;
  while (nemesis.stats().skipped == 0 && Clock::now() < until) std::this_thread::sleep_for(5ms);
  nemesis.stop();
  auto s = nemesis.stats();
  EXPECT_EQ(s.kills, 1u);
  EXPECT_EQ(s.pauses, 0u);
  EXPECT_EQ(s.skipped, 1u);
  EXPECT_EQ(server.state(), ServerProcess::State::kDown);
}

}  // namespace
}  // namespace faultline::nemesis
