// Ledger.Append's service around its commit: decode the arguments, work a seeded time, then
// hand the request to the commit step the caller gives, whose reply goes out. deadline-race
// (scenarios/deadline_race.cpp) gives the step with its BUG: and FIX: lines; the service itself
// decides nothing.
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
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/probe/histogram.h"
#include "harness/probe/latency_series.h"
#include "harness/probe/measure.h"
#include "servers/rpc/client.h"
#include "servers/rpc/messages.h"
#include "servers/rpc/redialing_client.h"
#include "servers/rpc/server.h"

namespace faultline::rpc {

struct LedgerServiceOptions {
  // Mean time the handler works before it commits, and its spread: each request works
  // work x (1 +- jitter), uniform, a pure function of (seed, op, attempt).
  std::chrono::microseconds work{0};
  double jitter = 0;  // 0..1
  std::uint64_t seed = 0;
};

// What deadline-race's commit step counts on the server's side.
struct LedgerServiceStats {
  std::atomic<std::uint64_t> late_ok{0};  // OK answered after the request's deadline
  std::atomic<std::uint64_t> deadline_exceeded{0};
  std::atomic<std::uint64_t> replays{0};  // attempts answered from the key index
};

// What one ledger client saw, attempt by attempt; merged over the clients after the run.
struct AppendTally {
  std::uint64_t replies_ok = 0, replies_deadline_exceeded = 0, replies_other = 0;
  std::uint64_t timeouts = 0, attempts = 0;
  RedialStats redials;       // lost connections dialled again
  LatencyHistogram latency;  // attempts that got a reply, send to reply
  LatencySeries over_time;   // the same latencies by when each reply came
  std::vector<ClientOutcome> history;
  // One attempt's result: counts it by outcome, and its latency when it got a reply.
  void count(const CallResult& result, SteadyClock::time_point sent);
  // An operation settled: kept in the history with the time it was concluded (now).
  void conclude(ClientOutcome outcome);
  void merge(const AppendTally& other);
  static AppendTally sum(const std::vector<AppendTally>& tallies);
};

// The handler's last step, after the work: commit (or refuse) and answer.
using AppendStep = std::function<Reply(const Request& request, const AppendArgs& args)>;

// Registers Ledger.Append on `server`; whatever `step` captures must outlive the server's stop().
void register_ledger(Server& server, LedgerServiceOptions options, AppendStep step);

// One line per committed entry: {"op", "attempt", "after_deadline", "key", "t_ns"} (t_ns: when it
// was committed, nanoseconds of CLOCK_MONOTONIC; absent in journals written before it).
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

// Ledger.Append served: a Server, its Ledger, the commit step's counters and, given a journal
// file, the journal. The caller's step decides each commit. With a journal every commit is
// appended to it before the reply goes out, so an audit after the run sees what a killed server
// committed, and a server restarted on the same file resumes the ledger and its keys.
class LedgerHost {
 public:
  LedgerHost(ServerOptions server, LedgerServiceOptions work, const std::string& journal_path,
             AppendStep step);
  std::uint16_t port() const { return server_.port(); }
  void stop() { server_.stop(); }
  std::string summary() const;  // requests, entries and the step's counters, one line
  Ledger& ledger() { return ledger_; }
  LedgerServiceStats& stats() { return stats_; }
  struct Record;
  Record record() const;  // what the audit reads, after stop()

 private:
  Ledger ledger_;
  LedgerServiceStats stats_;
  std::unique_ptr<LedgerJournal> journal_;
  Server server_;  // last: stopped and destroyed before what its handlers use
};

// What the audit reads after a run: the committed entries, how many were answered OK after their
// deadline, and what the server's commit step counted (known in process only).
struct LedgerHost::Record {
  std::vector<LedgerEntry> entries;
  std::uint64_t late_ok = 0;
  Measures server_counts;
};
// The same from a journal, over every incarnation of a killed and restarted server: a late OK is
// an entry committed after its deadline.
LedgerHost::Record read_journal_record(const std::filesystem::path& journal);

// The audit's and the clients' figures as metrics, and the run in one line.
Measures audit_measures(const LedgerHost::Record& ledger, const AuditResult& audit,
                        const AppendTally& clients);
std::string audit_note(const LedgerHost::Record& ledger, const AuditResult& audit,
                       const AppendTally& clients);

}  // namespace faultline::rpc
