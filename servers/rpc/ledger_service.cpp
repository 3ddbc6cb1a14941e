#include "servers/rpc/ledger_service.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "harness/probe/perturb.h"
#include "harness/probe/splitmix.h"
#include "harness/probe/write_all.h"
#include "servers/rpc/server.h"

namespace faultline::rpc {
namespace asio = boost::asio;
namespace {

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001B3ull;
  return h;
}

// The work takes about as long as the deadline, so the reply and the deadline race.
SteadyClock::duration work_time(const LedgerServiceOptions& options, const AppendArgs& args) {
  double u =
      static_cast<double>(
          splitmix64(options.seed ^ fnv1a(args.op) ^ (std::uint64_t{args.attempt} << 56)) >> 11) /
      9007199254740992.0;  // [0, 1)
  return std::chrono::duration_cast<SteadyClock::duration>(options.work *
                                                           (1.0 + options.jitter * (2 * u - 1)));
}

JournalEntry parse_line(const std::string& line) {
  auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("op") || !j["op"].is_string() || !j.contains("attempt") ||
      !j["attempt"].is_number_unsigned()) {
    throw std::runtime_error(fmt::format("malformed ledger journal line: {}", line));
  }
  JournalEntry e;
  e.entry.op = j["op"].get<std::string>();
  e.entry.attempt = j["attempt"].get<std::uint32_t>();
  e.entry.after_deadline = j.value("after_deadline", false);
  if (j.contains("t_ns") && j["t_ns"].is_number_integer()) {
    e.entry.committed_at =
        SteadyClock::time_point(std::chrono::duration_cast<SteadyClock::duration>(
            std::chrono::nanoseconds(j["t_ns"].get<std::int64_t>())));
  }
  if (j.contains("key") && j["key"].is_string()) e.key = j["key"].get<std::string>();
  return e;
}

}  // namespace

void register_ledger(Server& server, LedgerServiceOptions options, AppendStep step) {
  server.handle(
      std::string(kAppendMethod),
      [options, step = std::move(step)](const Request& req) -> asio::awaitable<Reply> {
        AppendArgs args;
        try {
          args = decode_append_args(req.body);
        } catch (const std::exception& e) {
          co_return Reply{Status::kBadRequest, e.what(), {}};
        }
        if (options.work.count() > 0) {
          asio::steady_timer timer(co_await asio::this_coro::executor, work_time(options, args));
          co_await timer.async_wait(asio::use_awaitable);
        }
        FAULTLINE_PERTURB("deadline-race.handler.before-commit");  // the deadline may pass
        co_return step(req, args);
      });
}

void AppendTally::count(const CallResult& r, SteadyClock::time_point sent) {
  ++attempts;
  if (r.outcome == CallOutcome::kReplied) {
    const auto now = SteadyClock::now();
    const auto ns = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - sent).count());
    latency.record(ns);
    over_time.record(now, ns);
  }
  if (r.outcome == CallOutcome::kReplied && r.status == Status::kOk) {
    ++replies_ok;
  } else if (r.outcome == CallOutcome::kReplied && r.status == Status::kDeadlineExceeded) {
    ++replies_deadline_exceeded;
  } else if (r.outcome == CallOutcome::kTimedOut) {
    ++timeouts;
  } else {
    ++replies_other;
  }
}

LedgerHost::LedgerHost(ServerOptions server, LedgerServiceOptions work,
                       const std::string& journal_path, AppendStep step)
    : server_(std::move(server)) {
  if (!journal_path.empty()) journal_ = std::make_unique<LedgerJournal>(journal_path, ledger_);
  register_ledger(server_, work, std::move(step));
  server_.start();
}

std::string LedgerHost::summary() const {
  return fmt::format(
      "{} requests, {} ledger entries ({} late ok, {} deadline exceeded, {} key replays)",
      server_.stats().requests, ledger_.size(), stats_.late_ok.load(),
      stats_.deadline_exceeded.load(), stats_.replays.load());
}

LedgerHost::Record LedgerHost::record() const {
  return {ledger_.entries(),
          stats_.late_ok.load(),
          {{"outcome_deadline_exceeded", stats_.deadline_exceeded.load(), "replies"},
           {"key_replays", stats_.replays.load(), "attempts"}}};
}

LedgerHost::Record read_journal_record(const std::filesystem::path& journal) {
  LedgerHost::Record r;
  for (auto& e : read_ledger_journal(journal)) {
    if (e.entry.after_deadline) ++r.late_ok;
    r.entries.push_back(std::move(e.entry));
  }
  return r;
}

Measures audit_measures(const LedgerHost::Record& ledger, const AuditResult& audit,
                        const AppendTally& clients) {
  Measures m = {{"ops", audit.ops, "ops"},
                {"attempts", clients.attempts, "attempts"},
                {"outcome_ok", clients.replies_ok, "replies"}};
  m.insert(m.end(), ledger.server_counts.begin(), ledger.server_counts.end());
  m.insert(m.end(), {{"client_saw_deadline_exceeded", clients.replies_deadline_exceeded, "replies"},
                     {"outcome_late_ok", ledger.late_ok, "replies"},
                     {"outcome_other", clients.replies_other, "replies"},
                     {"client_timeouts", clients.timeouts, "attempts"},
                     {"ledger_entries", ledger.entries.size(), "entries"},
                     {"committed_ops", audit.committed_ops, "ops"},
                     {"extra_commits", audit.extra_commits, "commits"},
                     {"failed_but_committed", audit.failed_but_committed, "ops"},
                     {"ok_but_missing", audit.ok_but_missing, "ops"},
                     {"unknown_ops", audit.unknown_ops, "ops"},
                     {"foreign_ops", audit.foreign_ops, "ops"}});
  const auto redials = clients.redials.measures();
  m.insert(m.end(), redials.begin(), redials.end());
  return m;
}

std::string audit_note(const LedgerHost::Record& ledger, const AuditResult& audit,
                       const AppendTally& clients) {
  return fmt::format(
      "{} ops, {} attempts: {} ok, {} deadline exceeded, {} late ok, {} timeouts; audit: {} "
      "duplicated ops, {} inconsistent",
      audit.ops, clients.attempts, clients.replies_ok, clients.replies_deadline_exceeded,
      ledger.late_ok, clients.timeouts, audit.duplicate_ops, audit.inconsistent_ops);
}

void AppendTally::conclude(ClientOutcome outcome) {
  outcome.concluded_at = SteadyClock::now();
  history.push_back(std::move(outcome));
}

void AppendTally::merge(const AppendTally& other) {
  replies_ok += other.replies_ok;
  replies_deadline_exceeded += other.replies_deadline_exceeded;
  replies_other += other.replies_other;
  timeouts += other.timeouts;
  attempts += other.attempts;
  redials.add(other.redials);
  latency.merge(other.latency);
  over_time.merge(other.over_time);
  history.insert(history.end(), other.history.begin(), other.history.end());
}

AppendTally AppendTally::sum(const std::vector<AppendTally>& tallies) {
  AppendTally total;
  for (const auto& t : tallies) total.merge(t);
  return total;
}

LedgerJournal::LedgerJournal(const std::filesystem::path& path, Ledger& ledger) {
  if (std::filesystem::exists(path)) {
    for (auto& e : read_ledger_journal(path)) {
      ledger.restore(std::move(e.entry), e.key);
      ++restored_;
    }
  }
  fd_ = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);  // RDWR: pread below
  if (fd_ < 0) {
    throw std::runtime_error(
        fmt::format("cannot open ledger journal {}: {}", path.string(), std::strerror(errno)));
  }
  // A torn last line (a server killed mid-write) must not glue onto the next entry.
  if (::lseek(fd_, 0, SEEK_END) > 0) {
    char last = '\n';
    if (::pread(fd_, &last, 1, ::lseek(fd_, 0, SEEK_END) - 1) == 1 && last != '\n') {
      (void)!::write(fd_, "\n", 1);
    }
  }
  int fd = fd_;
  ledger.set_append_hook([fd](const LedgerEntry& e, const std::optional<std::string>& key) {
    nlohmann::json j = {{"op", e.op}, {"attempt", e.attempt}, {"after_deadline", e.after_deadline}};
    if (key) j["key"] = *key;
    if (e.committed_at) {  // steady_clock (CLOCK_MONOTONIC): the auditing process's clock too
      j["t_ns"] =
          std::chrono::duration_cast<std::chrono::nanoseconds>(e.committed_at->time_since_epoch())
              .count();
    }
    std::string line = j.dump() + "\n";
    // One write per entry, under the ledger's lock, before the reply is sent: a commit the
    // client hears about is in the file even if the server is killed the next instant.
    (void)write_all(fd, line.data(), line.size());  // a full disk: the audit shows the gap
  });
}

LedgerJournal::~LedgerJournal() {
  if (fd_ >= 0) ::close(fd_);
}

std::vector<JournalEntry> read_ledger_journal(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("cannot read ledger journal {}", path.string()));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<JournalEntry> out;
  std::size_t pos = 0;
  for (;;) {
    auto nl = text.find('\n', pos);
    if (nl == std::string::npos) break;  // an unterminated last line was cut short: ignored
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    try {
      out.push_back(parse_line(line));
    } catch (const std::runtime_error&) {
      // A line cut short and then followed by the newline a restarted server wrote: skip it
      // only if it is not valid JSON at all; a complete but wrong line is an error.
      if (nlohmann::json::accept(line)) throw;
    }
  }
  return out;
}

}  // namespace faultline::rpc
