// The two services of the RPC stack and their JSON bodies, plus the ledger audit.
//
// Arith.Divide(a, b) -> {a, b, quotient: {"Quo": a / b, "Rem": a % b}}, error "divide by zero":
// the method of seed 000 (Go's net/rpc example). Ledger.Append(op) appends one non-idempotent
// operation to a server-side ledger: the method of deadline-race (seed 003, part 3).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::rpc {

class Server;

inline constexpr std::string_view kDivideMethod = "Arith.Divide";
inline constexpr std::string_view kAppendMethod = "Ledger.Append";
inline constexpr std::string_view kDivideByZero = "divide by zero";

struct DivideArgs {
  std::int64_t a = 0;
  std::int64_t b = 0;
};

// The reply of seed 000: a map the client's reader fills in while it decodes.
struct DivideReply {
  std::int64_t a = 0;
  std::int64_t b = 0;
  std::map<std::string, std::int64_t> quotient;
};

std::string encode_divide_args(const DivideArgs& args);
DivideArgs decode_divide_args(std::string_view body);  // throws std::invalid_argument
std::string encode_divide_reply(const DivideReply& reply);
// Writes the decoded fields into `out` one by one, as a Go decoder fills a caller's reply; throws
// std::invalid_argument on a body that is not a Divide reply (out may then be partly written).
void decode_divide_reply(std::string_view body, DivideReply& out);
// The caller's read of a reply, as seed 000's caller reads res.Quotient: how many entries it
// holds, and whether Quo and Rem are right for `args` (nothing to check when b = 0).
struct DivideReplyRead {
  std::size_t entries = 0;
  bool right = true;
};
DivideReplyRead read_divide_reply(const DivideReply& reply, const DivideArgs& args);

// Registers Arith.Divide on a server.
void register_arith(Server& server);

// ---- Ledger ---------------------------------------------------------------------------------

struct AppendArgs {
  std::string op;             // the operation's identity, unique per logical operation ("c3-17")
  std::uint32_t attempt = 1;  // which try of the client this request is (1 = first)
};
std::string encode_append_args(const AppendArgs& args);
AppendArgs decode_append_args(std::string_view body);  // throws std::invalid_argument

struct LedgerEntry {
  std::string op;
  std::uint32_t attempt = 1;
  bool after_deadline = false;  // committed although the request's deadline had passed
  // When the ledger committed it (set by append, append_once and commit; a journal keeps it):
  // steady_clock, which is CLOCK_MONOTONIC, so a server process's times compare with the run's.
  std::optional<std::chrono::steady_clock::time_point> committed_at;
};

// The server-side ledger: an append-only list with an optional index of idempotency keys.
// Thread-safe; every method takes the one lock.
class Ledger {
 public:
  // Appends unconditionally (what a handler that does not deduplicate does).
  void append(LedgerEntry entry);
  // Appends unless `key` was committed before; the check and the append are one step under the
  // lock, so two concurrent attempts with one key commit once. Returns false for a duplicate.
  bool append_once(const std::string& key, LedgerEntry entry);
  enum class Commit { kCommitted, kDuplicate, kDeadlineExceeded };
  // The careful commit, in one step under the lock: a key committed before answers kDuplicate
  // (the operation is done: an idempotent replay), else a deadline already passed answers
  // kDeadlineExceeded (nothing is written), else the entry is appended (and its key indexed).
  Commit commit(LedgerEntry entry, const std::optional<std::string>& key,
                std::optional<std::chrono::steady_clock::time_point> deadline);
  std::vector<LedgerEntry> entries() const;
  std::size_t size() const;

  // Called under the lock after every append, in commit order, with the key the entry was
  // committed under (none for append()): where a durable journal hooks in (ledger_service.h).
  // Set it before the ledger is shared.
  using AppendHook =
      std::function<void(const LedgerEntry& entry, const std::optional<std::string>& key)>;
  void set_append_hook(AppendHook hook) { hook_ = std::move(hook); }
  // Puts back an entry a journal recorded, with its key; the hook is not called.
  void restore(LedgerEntry entry, const std::optional<std::string>& key);

 private:
  AppendHook hook_;
  mutable std::mutex mu_;
  std::vector<LedgerEntry> entries_;
  std::map<std::string, std::size_t> keys_;  // idempotency key -> index in entries_
};

// What a client finally believed about one operation.
enum class ClientView {
  kOk,       // a reply said OK
  kFailed,   // the client concluded that the operation did not happen
  kUnknown,  // the client knows it cannot tell (a timeout it treats as indeterminate)
};

struct ClientOutcome {
  std::string op;
  ClientView view = ClientView::kUnknown;
  std::uint32_t attempts = 0;
  std::optional<std::chrono::steady_clock::time_point> concluded_at;  // when it settled on view
};

// The checker (in Jepsen's sense): a pure function of the ledger and the clients' history.
struct AuditResult {
  std::uint64_t ops = 0;               // operations the clients issued
  std::uint64_t committed_ops = 0;     // distinct operations in the ledger
  std::uint64_t duplicate_ops = 0;     // operations committed more than once
  std::uint64_t extra_commits = 0;     // commits beyond the first, summed over operations
  std::uint64_t inconsistent_ops = 0;  // seen as failed yet committed, or seen OK yet absent
  std::uint64_t failed_but_committed = 0;
  std::uint64_t ok_but_missing = 0;
  std::uint64_t unknown_ops = 0;      // client view kUnknown (not an anomaly by itself)
  std::uint64_t foreign_ops = 0;      // ledger operations no client issued
  std::vector<std::string> examples;  // a few human-readable findings, for the record
  // When the first anomaly came to be, for the observations' first_symptom_s: a duplicate at its
  // operation's second commit; an inconsistency (seen as failed yet committed) once both the
  // commit and the client's conclusion had happened. Seen OK yet absent is untimed: an absence
  // is only found by the audit. Nothing when no finding has a time (entries without one).
  std::optional<std::chrono::steady_clock::time_point> first_duplicate, first_inconsistent;
  bool valid() const { return duplicate_ops == 0 && inconsistent_ops == 0 && foreign_ops == 0; }
  // The observations' details: the examples when there is a finding, else what held.
  std::string duplicate_detail() const;
  std::string inconsistent_detail() const;
};

AuditResult audit_ledger(std::span<const LedgerEntry> ledger,
                         std::span<const ClientOutcome> history, std::size_t max_examples = 5);

}  // namespace faultline::rpc
