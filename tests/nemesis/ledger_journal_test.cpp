// The ledger journal that lets deadline-race audit a server the nemesis killed: commits are in
// the file, a restarted server resumes the ledger and honours keys committed before the kill.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "harness/nemesis/server_process.h"
#include "servers/rpc/client.h"
#include "servers/rpc/ledger_service.h"

namespace faultline::rpc {
namespace {

using namespace std::chrono_literals;

std::filesystem::path temp_path(std::string_view name) {
  auto p = std::filesystem::temp_directory_path() /
           fmt::format("nemesis_ledger_{}_{}.jsonl", name, ::getpid());
  std::filesystem::remove(p);
  return p;
}

TEST(LedgerJournal, RecordsCommitsAndRestoresThemWithTheirKeys) {
  auto path = temp_path("restore");
  const auto before = std::chrono::steady_clock::now();
  {
    Ledger ledger;
    LedgerJournal journal(path, ledger);
    EXPECT_EQ(journal.restored(), 0u);
    ledger.append({"a", 1, true});
    EXPECT_EQ(ledger.commit({"b", 1, false}, std::string("kb"), std::nullopt),
              Ledger::Commit::kCommitted);
    EXPECT_EQ(ledger.commit({"b", 2, false}, std::string("kb"), std::nullopt),
              Ledger::Commit::kDuplicate);  // not journaled: nothing was appended
  }
  auto lines = read_ledger_journal(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].entry.op, "a");
  EXPECT_TRUE(lines[0].entry.after_deadline);
  EXPECT_FALSE(lines[0].key);
  EXPECT_EQ(lines[1].key.value(), "kb");
  // Each line keeps when it was committed (t_ns, steady_clock), for the audit's times.
  const auto after = std::chrono::steady_clock::now();
  for (const auto& line : lines) {
    ASSERT_TRUE(line.entry.committed_at);
    EXPECT_GE(*line.entry.committed_at, before);
    EXPECT_LE(*line.entry.committed_at, after);
  }

  Ledger again;
  LedgerJournal journal(path, again);
  EXPECT_EQ(journal.restored(), 2u);
  EXPECT_EQ(again.size(), 2u);
  // The key committed before the "restart" still deduplicates.
  EXPECT_EQ(again.commit({"b", 3, false}, std::string("kb"), std::nullopt),
            Ledger::Commit::kDuplicate);
  std::filesystem::remove(path);
}

TEST(LedgerJournal, IgnoresALastLineCutShort) {
  auto path = temp_path("torn");
  {
    std::ofstream out(path);
    out << R"({"op":"a","attempt":1,"after_deadline":false})"
        << "\n"
        << R"({"op":"b","att)";
  }
  EXPECT_EQ(read_ledger_journal(path).size(), 1u);
  {
    Ledger ledger;
    LedgerJournal journal(path, ledger);  // a restarted writer starts on a fresh line
    ledger.append({"c", 1, false});
  }
  auto lines = read_ledger_journal(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].entry.op, "c");
  {
    std::ofstream out(path, std::ios::app);
    out << R"({"op":42})"
        << "\n";  // complete but wrong: an error, not silence
  }
  EXPECT_THROW(read_ledger_journal(path), std::runtime_error);
  std::filesystem::remove(path);
}

// End to end: deadline-race's own server (`deadline-race --serve --variant fixed --state F`, as
// RunningServer starts it under the nemesis), killed and restarted.
TEST(LedgerJournal, StandaloneServerKeepsCommitsAndKeysAcrossAKill) {
  auto path = temp_path("server");
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread io_thread([&] { io.run(); });
  auto append = [&](std::uint16_t port, const std::string& op, std::uint32_t attempt) {
    auto client = Client::dial(io, port);
    CallOptions options;
    options.idempotency_key = op;
    auto r = client->call(kAppendMethod, encode_append_args({op, attempt}), nullptr, options, 10s);
    client->close();
    return r.outcome == CallOutcome::kReplied && r.status == Status::kOk;
  };
  {
    nemesis::ServerProcess server(FAULTLINE_DEADLINE_RACE,
                                  {"--serve", "--variant", "fixed", "--state", path.string()});
    server.start();
    EXPECT_TRUE(append(server.port(), "op-1", 1));
    EXPECT_TRUE(append(server.port(), "op-2", 1));
    server.kill();
    server.restart();
    EXPECT_TRUE(append(server.port(), "op-1", 2));  // a retry after the crash: a replay
    EXPECT_TRUE(append(server.port(), "op-3", 1));
    server.stop();
    // The restarted server resumed op-1 and op-2 from the journal, replayed op-1, added op-3.
    EXPECT_NE(server.output().find("3 ledger entries (0 late ok, 0 deadline exceeded, 1 key "
                                   "replays)"),
              std::string::npos)
        << server.output();
  }
  work.reset();
  io.stop();
  io_thread.join();
  auto lines = read_ledger_journal(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].entry.op, "op-1");
  EXPECT_EQ(lines[1].entry.op, "op-2");
  EXPECT_EQ(lines[2].entry.op, "op-3");
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace faultline::rpc
