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
#include "harness/probe/write_all.h"
#include "servers/rpc/server.h"

namespace faultline::rpc {
namespace asio = boost::asio;
namespace {

// splitmix64 over (seed, op, attempt): each request's work time is a pure function of the run's
// seed and the request, whatever order the threads run in.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001B3ull;
  return h;
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
  if (j.contains("key") && j["key"].is_string()) e.key = j["key"].get<std::string>();
  return e;
}

}  // namespace

void register_ledger(Server& server, Ledger& ledger, LedgerServiceStats& stats,
                     LedgerServiceOptions options) {
  server.handle(
      std::string(kAppendMethod),
      [&ledger, &stats, options](const Request& req) -> asio::awaitable<Reply> {
        AppendArgs args;
        try {
          args = decode_append_args(req.body);
        } catch (const std::exception& e) {
          co_return Reply{Status::kBadRequest, e.what(), {}};
        }
        if (options.work.count() > 0) {
          // The work takes about as long as the deadline, so the reply and the deadline race.
          double u =
              static_cast<double>(
                  mix(options.seed ^ fnv1a(args.op) ^ (std::uint64_t{args.attempt} << 56)) >> 11) /
              9007199254740992.0;  // [0, 1)
          auto work = std::chrono::duration_cast<SteadyClock::duration>(
              options.work * (1.0 + options.jitter * (2 * u - 1)));
          asio::steady_timer timer(co_await asio::this_coro::executor, work);
          co_await timer.async_wait(asio::use_awaitable);
        }

        FAULTLINE_PERTURB("deadline-race.handler.before-commit");  // the deadline may pass here
        bool late = req.deadline && SteadyClock::now() >= *req.deadline;
        if (options.fixed) {
          // FIX: check the deadline before the commit (one step with it, under the ledger's
          // lock) and deduplicate by the request's idempotency key.
          auto c = ledger.commit(LedgerEntry{args.op, args.attempt, false}, req.idempotency_key,
                                 req.deadline);
          if (c == Ledger::Commit::kDeadlineExceeded) {
            ++stats.deadline_exceeded;
            co_return Reply{Status::kDeadlineExceeded, "deadline exceeded before commit", {}};
          }
          if (c == Ledger::Commit::kDuplicate) {
            ++stats.replays;  // done before: answer OK again, commit nothing
            co_return Reply{Status::kOk, {}, "{}"};
          }
        } else {
          // BUG: commit and answer OK whatever the deadline says.
          ledger.append(LedgerEntry{args.op, args.attempt, late});
        }
        if (late) ++stats.late_ok;
        co_return Reply{Status::kOk, {}, "{}"};
      });
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
