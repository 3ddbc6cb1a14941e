// deadline-race: the server answers OK after its deadline; the client retries work already done.
//
// Incident (seed 003, part 3, gRPC): the client's deadline travels to the server in the
// grpc-timeout header and becomes the server's context deadline. The server's context expired,
// yet its handler still committed and answered OK; on the client, select { reply, ctx.Done() }
// picked either case at random, so the client sometimes saw a timeout for work that was done,
// and retried it: the operation ran twice.
//
// Root cause: a deadline checked by nobody before the side effect, and a client that reads a
// timeout as "it did not happen" and retries a non-idempotent operation blindly.
//
// Fix: the server checks the deadline before it commits (in one step with the commit) and
// answers DEADLINE_EXCEEDED; the client sends an idempotency key with every attempt of one
// operation and the server commits a key once; a timeout is an unknown outcome, not a failure.
//
// Timeline of the bad interleaving (buggy, deadline D, work time W > D):
//   client                                  server handler
//   Append(op, attempt 1, timeout D)  --->  received; deadline = now + D; works W
//   timer fires at D: "failed", retry       .
//   Append(op, attempt 2)             --->  received; works W'
//   .                                       attempt 1 wakes after its deadline: commits, OK
//   (late reply dropped)                    attempt 2 commits too: op is in the ledger twice
//
// Oracle: after the run, a ledger audit (a checker in Jepsen's sense, audit_ledger in
// servers/rpc/messages.h) compares the ledger with what each client finally believed:
// duplicate_commit (an operation committed more than once) and inconsistent_outcome (seen as
// failed yet committed, or seen OK yet absent). Both are counted, never inferred.
#include <fmt/format.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "harness/histogram.h"
#include "harness/scenario_api.h"
#include "servers/rpc/client.h"
#include "servers/rpc/messages.h"
#include "servers/rpc/server.h"

namespace {

namespace asio = boost::asio;
using faultline::Context;
using faultline::LatencyHistogram;
using namespace faultline::rpc;
using Clock = std::chrono::steady_clock;

const faultline::ScenarioSpec kSpec{
    "deadline-race",
    "003",
    "server replies OK after its deadline; client races reply vs timer, retries",
    "duplicate_commit / inconsistent_outcome in a ledger audit",
    {"buggy", "fixed"},
    {
        {"clients",
         faultline::ParamType::kInt,
         "8",
         "concurrent clients, one connection each",
         1,
         256,
         {}},
        {"ops-per-client",
         faultline::ParamType::kInt,
         "25",
         "operations each client appends, one after the other",
         1,
         10'000,
         {}},
        {"deadline-ms",
         faultline::ParamType::kInt,
         "20",
         "per-attempt deadline in ms, sent as the request's timeout and used as the client's timer",
         1,
         60'000,
         {}},
        {"work-jitter-pct",
         faultline::ParamType::kInt,
         "30",
         "handler work time = deadline x (1 +- jitter%), uniform and seeded",
         0,
         100,
         {}},
        {"max-attempts",
         faultline::ParamType::kInt,
         "3",
         "attempts per operation (1 = no retry)",
         1,
         10,
         {}},
        {"server-threads", faultline::ParamType::kInt, "2", "server io_context threads", 1, 64, {}},
        {"client-threads", faultline::ParamType::kInt, "2", "client io_context threads", 1, 64, {}},
    }};

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

struct ServerSide {
  Ledger ledger;
  std::atomic<std::uint64_t> late_ok{0};  // OK answered after the request's deadline
  std::atomic<std::uint64_t> deadline_exceeded{0};
  std::atomic<std::uint64_t> replays{0};  // attempts answered from the key index
};

struct ClientTally {
  std::uint64_t replies_ok = 0, replies_deadline_exceeded = 0, replies_other = 0;
  std::uint64_t timeouts = 0, attempts = 0;
  LatencyHistogram latency;  // attempts that got a reply, send to reply
  std::vector<ClientOutcome> history;
};

int run(Context& ctx) {
  const bool fixed = ctx.is("fixed");
  const auto clients = static_cast<int>(ctx.params.integer("clients"));
  const auto ops = static_cast<int>(ctx.params.integer("ops-per-client"));
  const auto deadline = std::chrono::milliseconds(ctx.params.integer("deadline-ms"));
  const double jitter = static_cast<double>(ctx.params.integer("work-jitter-pct")) / 100.0;
  const auto max_attempts = static_cast<std::uint32_t>(ctx.params.integer("max-attempts"));
  const std::uint64_t seed = ctx.seed;

  ServerSide side;
  Server server(ServerOptions{
      "127.0.0.1", 0, static_cast<int>(ctx.params.integer("server-threads")), kMaxFrameBytes});
  server.handle(std::string(kAppendMethod), [&](const Request& req) -> asio::awaitable<Reply> {
    AppendArgs args;
    try {
      args = decode_append_args(req.body);
    } catch (const std::exception& e) {
      co_return Reply{Status::kBadRequest, e.what(), {}};
    }
    // The work takes about as long as the deadline, so the reply and the deadline race.
    double u = static_cast<double>(
                   mix(seed ^ fnv1a(args.op) ^ (std::uint64_t{args.attempt} << 56)) >> 11) /
               9007199254740992.0;  // [0, 1)
    auto work =
        std::chrono::duration_cast<Clock::duration>(deadline * (1.0 + jitter * (2 * u - 1)));
    asio::steady_timer timer(co_await asio::this_coro::executor, work);
    co_await timer.async_wait(asio::use_awaitable);

    bool late = req.deadline && Clock::now() >= *req.deadline;
    if (fixed) {
      // FIX: check the deadline before the commit (one step with it, under the ledger's lock)
      // and deduplicate by the request's idempotency key.
      auto c = side.ledger.commit(LedgerEntry{args.op, args.attempt, false}, req.idempotency_key,
                                  req.deadline);
      if (c == Ledger::Commit::kDeadlineExceeded) {
        ++side.deadline_exceeded;
        co_return Reply{Status::kDeadlineExceeded, "deadline exceeded before commit", {}};
      }
      if (c == Ledger::Commit::kDuplicate) {
        ++side.replays;  // done before: answer OK again, commit nothing
        co_return Reply{Status::kOk, {}, "{}"};
      }
    } else {
      // BUG: commit and answer OK whatever the deadline says.
      side.ledger.append(LedgerEntry{args.op, args.attempt, late});
    }
    if (late) ++side.late_ok;
    co_return Reply{Status::kOk, {}, "{}"};
  });
  server.start();
  ctx.report.note(fmt::format("server listening on 127.0.0.1:{}", server.port()));

  asio::io_context client_io;
  auto work_guard = asio::make_work_guard(client_io);
  std::vector<std::thread> io_threads;
  for (int i = 0; i < ctx.params.integer("client-threads"); ++i) {
    io_threads.emplace_back([&] { client_io.run(); });
  }

  std::vector<ClientTally> tallies(static_cast<std::size_t>(clients));
  std::vector<std::thread> client_threads;
  auto t0 = Clock::now();
  for (int c = 0; c < clients; ++c) {
    client_threads.emplace_back([&, c] {
      ClientTally& tally = tallies[static_cast<std::size_t>(c)];
      std::shared_ptr<Client> client;
      try {
        client = Client::dial(client_io, server.port());
      } catch (const std::exception&) {
        return;  // no history: the audit counts no operation for this client
      }
      for (int i = 0; i < ops; ++i) {
        ClientOutcome outcome{fmt::format("c{}-{}", c, i), ClientView::kFailed, 0};
        for (std::uint32_t attempt = 1; attempt <= max_attempts; ++attempt) {
          CallOptions options;
          options.timeout = std::chrono::duration_cast<std::chrono::microseconds>(deadline);
          if (fixed) options.idempotency_key = outcome.op;  // FIX: every attempt carries the key
          auto sent = Clock::now();
          auto r = client->call(kAppendMethod, encode_append_args({outcome.op, attempt}), nullptr,
                                options, deadline);
          ++tally.attempts;
          outcome.attempts = attempt;
          if (r.outcome == CallOutcome::kReplied) {
            tally.latency.record(static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - sent).count()));
          }
          if (r.outcome == CallOutcome::kReplied && r.status == Status::kOk) {
            ++tally.replies_ok;
            outcome.view = ClientView::kOk;
            break;
          }
          if (r.outcome == CallOutcome::kReplied && r.status == Status::kDeadlineExceeded) {
            ++tally.replies_deadline_exceeded;
            outcome.view = ClientView::kFailed;  // the server said it did not commit
          } else if (r.outcome == CallOutcome::kTimedOut) {
            ++tally.timeouts;
            // BUG: a timeout is read as "it did not happen" and retried blindly.
            // FIX: a timeout is an unknown outcome; the key makes the retry safe.
            outcome.view = fixed ? ClientView::kUnknown : ClientView::kFailed;
          } else {
            ++tally.replies_other;
            outcome.view = ClientView::kFailed;
          }
        }
        tally.history.push_back(std::move(outcome));
      }
      client->close();
    });
  }
  for (auto& t : client_threads) t.join();
  auto t_clients = Clock::now();
  // Handlers of abandoned attempts may still be working: wait for them to commit (or not)
  // before the audit reads the ledger. Each works at most deadline x (1 + jitter).
  std::this_thread::sleep_for(deadline * (1.0 + jitter) + std::chrono::milliseconds(50));
  server.stop();
  work_guard.reset();
  client_io.stop();
  for (auto& t : io_threads) t.join();

  ClientTally total;
  std::vector<ClientOutcome> history;
  for (auto& t : tallies) {
    total.replies_ok += t.replies_ok;
    total.replies_deadline_exceeded += t.replies_deadline_exceeded;
    total.replies_other += t.replies_other;
    total.timeouts += t.timeouts;
    total.attempts += t.attempts;
    total.latency.merge(t.latency);
    history.insert(history.end(), t.history.begin(), t.history.end());
  }
  auto ledger = side.ledger.entries();
  AuditResult audit = audit_ledger(ledger, history);

  auto& rep = ctx.report;
  auto count = [&](std::string_view name, std::uint64_t v, std::string_view unit) {
    rep.metric(name, static_cast<double>(v), unit);
  };
  count("ops", audit.ops, "ops");
  count("attempts", total.attempts, "attempts");
  count("outcome_ok", total.replies_ok, "replies");
  count("outcome_deadline_exceeded", side.deadline_exceeded.load(), "replies");
  count("client_saw_deadline_exceeded", total.replies_deadline_exceeded, "replies");
  count("outcome_late_ok", side.late_ok.load(), "replies");
  count("outcome_other", total.replies_other, "replies");
  count("client_timeouts", total.timeouts, "attempts");
  count("key_replays", side.replays.load(), "attempts");
  count("ledger_entries", ledger.size(), "entries");
  count("committed_ops", audit.committed_ops, "ops");
  count("extra_commits", audit.extra_commits, "commits");
  count("failed_but_committed", audit.failed_but_committed, "ops");
  count("ok_but_missing", audit.ok_but_missing, "ops");
  count("unknown_ops", audit.unknown_ops, "ops");
  count("foreign_ops", audit.foreign_ops, "ops");
  rep.metric("clients_ms", std::chrono::duration<double, std::milli>(t_clients - t0).count(), "ms");
  total.latency.report(rep, "latency", 1000.0, "us");
  std::string examples = fmt::format("{}", fmt::join(audit.examples, "; "));
  rep.observation("duplicate_commit", audit.duplicate_ops,
                  audit.duplicate_ops ? examples : "every operation committed at most once");
  rep.observation(
      "inconsistent_outcome", audit.inconsistent_ops,
      audit.inconsistent_ops ? examples : "every definite client view matches the ledger");
  rep.note(fmt::format(
      "{} ops, {} attempts: {} ok, {} deadline exceeded, {} late ok, {} timeouts; "
      "audit: {} duplicated ops, {} inconsistent",
      audit.ops, total.attempts, total.replies_ok, total.replies_deadline_exceeded,
      side.late_ok.load(), total.timeouts, audit.duplicate_ops, audit.inconsistent_ops));
  rep.done();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return faultline::scenario_main(argc, argv, kSpec, run);
}
