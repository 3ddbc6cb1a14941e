#include "servers/rpc/messages.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "harness/probe/first_seen.h"
#include "servers/rpc/server.h"

namespace faultline::rpc {
namespace {

nlohmann::json parse_object(std::string_view body, const char* what) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) throw std::invalid_argument(fmt::format("{}: not a JSON object", what));
  return j;
}

std::int64_t int_field(const nlohmann::json& j, const char* name, const char* what) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_number_integer()) {
    throw std::invalid_argument(
        fmt::format("{}: field '{}' missing or not an integer", what, name));
  }
  return it->get<std::int64_t>();
}

}  // namespace

std::string encode_divide_args(const DivideArgs& args) {
  return nlohmann::json{{"a", args.a}, {"b", args.b}}.dump();
}

DivideArgs decode_divide_args(std::string_view body) {
  auto j = parse_object(body, "Divide args");
  return {int_field(j, "a", "Divide args"), int_field(j, "b", "Divide args")};
}

std::string encode_divide_reply(const DivideReply& reply) {
  nlohmann::json q = nlohmann::json::object();
  for (const auto& [k, v] : reply.quotient) q[k] = v;
  return nlohmann::json{{"a", reply.a}, {"b", reply.b}, {"quotient", q}}.dump();
}

DivideReplyRead read_divide_reply(const DivideReply& reply, const DivideArgs& args) {
  std::int64_t quo = -1;
  std::int64_t rem = -1;
  DivideReplyRead read;
  read.entries = reply.quotient.size();  // the seed's len(res.Quotient)
  for (const auto& [k, v] : reply.quotient) {
    if (k == "Quo") quo = v;
    if (k == "Rem") rem = v;
  }
  read.right = args.b == 0 || (quo == args.a / args.b && rem == args.a % args.b);
  return read;
}

void decode_divide_reply(std::string_view body, DivideReply& out) {
  auto j = parse_object(body, "Divide reply");
  auto q = j.find("quotient");
  if (q == j.end() || !q->is_object()) {
    throw std::invalid_argument("Divide reply: field 'quotient' missing or not an object");
  }
  // The fields land in `out` as they are decoded: whoever else reads `out` meanwhile races.
  out.a = int_field(j, "a", "Divide reply");
  out.b = int_field(j, "b", "Divide reply");
  for (const auto& [k, v] : q->items()) {
    if (!v.is_number_integer()) {
      throw std::invalid_argument(fmt::format("Divide reply: quotient '{}' not an integer", k));
    }
    out.quotient[k] = v.get<std::int64_t>();
  }
}

void register_arith(Server& server) {
  // Answers at once: served inline by the connection's reader, no coroutine per request.
  server.handle_inline(std::string(kDivideMethod), [](const Request& req) -> Reply {
    DivideArgs args;
    try {
      args = decode_divide_args(req.body);
    } catch (const std::exception& e) {
      return Reply{Status::kBadRequest, e.what(), {}};
    }
    if (args.b == 0) return Reply{Status::kError, std::string(kDivideByZero), {}};
    DivideReply r{args.a, args.b, {{"Quo", args.a / args.b}, {"Rem", args.a % args.b}}};
    return Reply{Status::kOk, {}, encode_divide_reply(r)};
  });
}

std::string encode_append_args(const AppendArgs& args) {
  return nlohmann::json{{"op", args.op}, {"attempt", args.attempt}}.dump();
}

AppendArgs decode_append_args(std::string_view body) {
  auto j = parse_object(body, "Append args");
  auto op = j.find("op");
  if (op == j.end() || !op->is_string() || op->get<std::string>().empty()) {
    throw std::invalid_argument("Append args: field 'op' missing or not a non-empty string");
  }
  std::int64_t attempt = int_field(j, "attempt", "Append args");
  if (attempt < 1 || attempt > 1'000'000) {
    throw std::invalid_argument(fmt::format("Append args: attempt {} out of range", attempt));
  }
  return {op->get<std::string>(), static_cast<std::uint32_t>(attempt)};
}

void Ledger::append(LedgerEntry entry) {
  std::lock_guard lock(mu_);
  entry.committed_at = std::chrono::steady_clock::now();
  entries_.push_back(std::move(entry));
  if (hook_) hook_(entries_.back(), std::nullopt);
}

void Ledger::restore(LedgerEntry entry, const std::optional<std::string>& key) {
  std::lock_guard lock(mu_);
  if (key) keys_.emplace(*key, entries_.size());
  entries_.push_back(std::move(entry));
}

bool Ledger::append_once(const std::string& key, LedgerEntry entry) {
  std::lock_guard lock(mu_);
  if (keys_.contains(key)) return false;
  keys_.emplace(key, entries_.size());
  entry.committed_at = std::chrono::steady_clock::now();
  entries_.push_back(std::move(entry));
  if (hook_) hook_(entries_.back(), key);
  return true;
}

Ledger::Commit Ledger::commit(LedgerEntry entry, const std::optional<std::string>& key,
                              std::optional<std::chrono::steady_clock::time_point> deadline) {
  std::lock_guard lock(mu_);
  if (key && keys_.contains(*key)) return Commit::kDuplicate;
  if (deadline && std::chrono::steady_clock::now() >= *deadline) return Commit::kDeadlineExceeded;
  if (key) keys_.emplace(*key, entries_.size());
  entry.committed_at = std::chrono::steady_clock::now();
  entries_.push_back(std::move(entry));
  if (hook_) hook_(entries_.back(), key);
  return Commit::kCommitted;
}

std::vector<LedgerEntry> Ledger::entries() const {
  std::lock_guard lock(mu_);
  return entries_;
}

std::size_t Ledger::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

std::string AuditResult::duplicate_detail() const {
  return duplicate_ops ? fmt::format("{}", fmt::join(examples, "; "))
                       : "every operation committed at most once";
}

std::string AuditResult::inconsistent_detail() const {
  return inconsistent_ops ? fmt::format("{}", fmt::join(examples, "; "))
                          : "every definite client view matches the ledger";
}

AuditResult audit_ledger(std::span<const LedgerEntry> ledger,
                         std::span<const ClientOutcome> history, std::size_t max_examples) {
  AuditResult r;
  std::map<std::string, std::uint64_t> commits;
  // Each operation's first two commit times (the earliest first), where the entries have them.
  using Time = std::optional<std::chrono::steady_clock::time_point>;
  std::map<std::string, std::pair<Time, Time>> times;
  for (const auto& e : ledger) {
    ++commits[e.op];
    auto& [first, second] = times[e.op];
    if (!e.committed_at) continue;
    if (!first || *e.committed_at < *first) {
      second = first;
      first = e.committed_at;
    } else if (!second || *e.committed_at < *second) {
      second = e.committed_at;
    }
  }
  r.committed_ops = commits.size();
  auto example = [&](std::string text) {
    if (r.examples.size() < max_examples) r.examples.push_back(std::move(text));
  };
  std::map<std::string, const ClientOutcome*> issued;
  for (const auto& h : history) {
    ++r.ops;
    issued.emplace(h.op, &h);
    auto it = commits.find(h.op);
    std::uint64_t n = it == commits.end() ? 0 : it->second;
    const auto [first_commit, second_commit] = n > 0 ? times[h.op] : std::pair<Time, Time>{};
    if (n > 1) {
      ++r.duplicate_ops;
      r.extra_commits += n - 1;
      r.first_duplicate = earliest(r.first_duplicate, second_commit);
      example(fmt::format("{} committed {} times ({} attempts)", h.op, n, h.attempts));
    }
    if (h.view == ClientView::kFailed && n > 0) {
      ++r.inconsistent_ops;
      ++r.failed_but_committed;
      if (first_commit && h.concluded_at) {
        r.first_inconsistent =
            earliest(r.first_inconsistent, std::max(*first_commit, *h.concluded_at));
      }
      example(fmt::format("{} seen as failed after {} attempts, yet committed {} time(s)", h.op,
                          h.attempts, n));
    } else if (h.view == ClientView::kOk && n == 0) {
      ++r.inconsistent_ops;
      ++r.ok_but_missing;
      example(fmt::format("{} seen OK, yet not in the ledger", h.op));
    } else if (h.view == ClientView::kUnknown) {
      ++r.unknown_ops;
    }
  }
  for (const auto& [op, n] : commits) {
    if (!issued.contains(op)) {
      ++r.foreign_ops;
      example(fmt::format("{} in the ledger ({} time(s)) but issued by no client", op, n));
    }
  }
  return r;
}

}  // namespace faultline::rpc
