// Ledger.Append as deadline-race (seed 003, part 3) serves it, buggy or fixed: the one handler
// shared by the in-process server of scenarios/deadline_race.cpp and the standalone
// faultline-rpc-server (--ledger-mode), so both run the same code whichever process holds it.
//
// And the ledger's journal: with a journal file every commit is appended to it (one write(2)
// under the ledger's lock, before the reply goes out), so what was committed survives a SIGKILL
// of the server, a restarted server resumes the ledger (and its idempotency keys) from it, and
// the scenario audits the file after the run.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "servers/rpc/messages.h"

namespace faultline::rpc {

class Server;

struct LedgerServiceOptions {
  bool fixed = true;  // false: the code as it shipped (commits whatever the deadline says)
  // Mean time the handler works before it commits, and its spread: each request works
  // work x (1 +- jitter), uniform, a pure function of (seed, op, attempt).
  std::chrono::microseconds work{0};
  double jitter = 0;  // 0..1
  std::uint64_t seed = 0;
};

struct LedgerServiceStats {
  std::atomic<std::uint64_t> late_ok{0};  // OK answered after the request's deadline
  std::atomic<std::uint64_t> deadline_exceeded{0};
  std::atomic<std::uint64_t> replays{0};  // attempts answered from the key index
};

// Registers Ledger.Append on `server`. `ledger` and `stats` must outlive the server's stop().
void register_ledger(Server& server, Ledger& ledger, LedgerServiceStats& stats,
                     LedgerServiceOptions options);

// One line per committed entry: {"op", "attempt", "after_deadline", "key"}.
class LedgerJournal {
 public:
  // Opens (creating) `path`, restores every entry already in it into `ledger`, and hooks the
  // ledger so each later commit is appended. Throws std::runtime_error. Outlives the ledger's use.
  LedgerJournal(const std::filesystem::path& path, Ledger& ledger);
  ~LedgerJournal();
  LedgerJournal(const LedgerJournal&) = delete;
  LedgerJournal& operator=(const LedgerJournal&) = delete;
  std::size_t restored() const { return restored_; }

 private:
  int fd_ = -1;
  std::size_t restored_ = 0;
};

struct JournalEntry {
  LedgerEntry entry;
  std::optional<std::string> key;
};
// Reads a journal; a last line cut short (a writer killed mid-line) is ignored. Throws
// std::runtime_error for a file that cannot be read or a malformed complete line.
std::vector<JournalEntry> read_ledger_journal(const std::filesystem::path& path);

}  // namespace faultline::rpc
