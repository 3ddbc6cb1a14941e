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
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "harness/fault/route.h"
#include "harness/nemesis/scenario_server.h"
#include "harness/probe/histogram.h"
#include "harness/probe/perturb.h"
#include "harness/probe/resource_tally.h"
#include "harness/scenario/scenario_api.h"
#include "servers/rpc/client.h"
#include "servers/rpc/ledger_service.h"
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
        faultline::nemesis::server_param(),
    },
    {"tcp", "process"},
    {
        // The ledger audit is the oracle in every build.
        faultline::expect_incident("buggy", "*", {{"duplicate_commit"}, {"inconsistent_outcome"}},
                                   {"client_timeouts>0"}),
        // The window: a client's deadline passed while its operation was in flight.
        faultline::expect_clean("fixed", "*", {"client_timeouts>0"}),
    }};

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

  // The server: threads of this process (the default, and the measured figures), or the
  // standalone faultline-rpc-server under the nemesis. Both run the one Ledger.Append of
  // servers/rpc/ledger_service.cpp (its BUG: and FIX: lines), with the same seeded work times.
  Ledger ledger;
  LedgerServiceStats side;
  std::optional<Server> server;
  std::optional<faultline::nemesis::ServerUnderNemesis> server_process;
  std::filesystem::path journal;
  std::uint16_t port = 0;
  if (faultline::nemesis::wants_server_process(ctx)) {
    // The standalone server journals every commit before it answers, so what a killed server
    // committed survives for the audit, and a restarted one resumes the ledger and its keys.
    journal = std::filesystem::temp_directory_path() /
              fmt::format("faultline-deadline-race-{}.ledger.jsonl", ::getpid());
    std::filesystem::remove(journal);
    server_process.emplace(
        ctx, "faultline-rpc-server",
        std::vector<std::string>{"--threads", ctx.params.text("server-threads"), "--ledger-mode",
                                 fixed ? "fixed" : "buggy", "--ledger-work-ms",
                                 ctx.params.text("deadline-ms"), "--ledger-jitter-pct",
                                 ctx.params.text("work-jitter-pct"), "--seed", std::to_string(seed),
                                 "--ledger-file", journal.string()});
    port = server_process->port();
  } else {
    server.emplace(ServerOptions{
        "127.0.0.1", 0, static_cast<int>(ctx.params.integer("server-threads")), kMaxFrameBytes});
    // The work takes about as long as the deadline, so the reply and the deadline race.
    register_ledger(*server, ledger, side, LedgerServiceOptions{fixed, deadline, jitter, seed});
    server->start();
    port = server->port();
    ctx.report.note(fmt::format("server listening on 127.0.0.1:{}", port));
  }
  // With --fault (TCP), the clients dial the fault proxy in front of the server.
  auto route = faultline::fault::route_tcp(ctx, port);

  asio::io_context client_io;
  auto work_guard = asio::make_work_guard(client_io);
  std::vector<std::thread> io_threads;
  for (int i = 0; i < ctx.params.integer("client-threads"); ++i) {
    io_threads.emplace_back([&] { client_io.run(); });
  }

  std::vector<ClientTally> tallies(static_cast<std::size_t>(clients));
  std::vector<std::thread> client_threads;
  if (server_process) server_process->start();  // the nemesis's t = 0: the clients begin
  auto t0 = Clock::now();
  for (int c = 0; c < clients; ++c) {
    client_threads.emplace_back([&, c] {
      ClientTally& tally = tallies[static_cast<std::size_t>(c)];
      std::shared_ptr<Client> client;
      try {
        client = Client::dial(client_io, route.port());
      } catch (const boost::system::system_error& e) {
        // Out of fds (Asio's no_descriptors is EMFILE) is the run's symptom.
        faultline::resource_tally().note_fd(e.code().value(), "socket/connect (Client::dial)");
        return;
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
          } else if (r.outcome == CallOutcome::kClosed) {
            ++tally.replies_other;
            // FIX: a connection that ended after the request went out is an unknown outcome
            // too (the server may have committed it), not a failure. Found with --fault
            // reset_peer and --nemesis kill (docs/faults.md).
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
  if (server) server->stop();
  if (server_process) server_process->stop();
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
  std::vector<LedgerEntry> entries;
  std::uint64_t late_ok = side.late_ok.load();
  if (server_process) {
    // Every incarnation's commits, from the journal; a late OK is a commit after its deadline.
    for (auto& e : read_ledger_journal(journal)) entries.push_back(std::move(e.entry));
    std::filesystem::remove(journal);
    late_ok = static_cast<std::uint64_t>(std::count_if(
        entries.begin(), entries.end(), [](const LedgerEntry& e) { return e.after_deadline; }));
  } else {
    entries = ledger.entries();
  }
  AuditResult audit = audit_ledger(entries, history);

  auto& rep = ctx.report;
  auto count = [&](std::string_view name, std::uint64_t v, std::string_view unit) {
    rep.metric(name, static_cast<double>(v), unit);
  };
  count("ops", audit.ops, "ops");
  count("attempts", total.attempts, "attempts");
  count("outcome_ok", total.replies_ok, "replies");
  if (server) {  // counted by the server's handler: in process only (see the server's note)
    count("outcome_deadline_exceeded", side.deadline_exceeded.load(), "replies");
    count("key_replays", side.replays.load(), "attempts");
  }
  count("client_saw_deadline_exceeded", total.replies_deadline_exceeded, "replies");
  count("outcome_late_ok", late_ok, "replies");
  count("outcome_other", total.replies_other, "replies");
  count("client_timeouts", total.timeouts, "attempts");
  count("ledger_entries", entries.size(), "entries");
  count("committed_ops", audit.committed_ops, "ops");
  count("extra_commits", audit.extra_commits, "commits");
  count("failed_but_committed", audit.failed_but_committed, "ops");
  count("ok_but_missing", audit.ok_but_missing, "ops");
  count("unknown_ops", audit.unknown_ops, "ops");
  count("foreign_ops", audit.foreign_ops, "ops");
  rep.metric("clients_ms", std::chrono::duration<double, std::milli>(t_clients - t0).count(), "ms");
  rep.histogram("latency", total.latency, 1000.0, "us");
  std::string examples = fmt::format("{}", fmt::join(audit.examples, "; "));
  rep.observation("duplicate_commit", audit.duplicate_ops,
                  audit.duplicate_ops ? examples : "every operation committed at most once");
  rep.observation(
      "inconsistent_outcome", audit.inconsistent_ops,
      audit.inconsistent_ops ? examples : "every definite client view matches the ledger");
  faultline::fault::report_route(ctx, route);
  rep.note(
      fmt::format("{} ops, {} attempts: {} ok, {} deadline exceeded, {} late ok, {} timeouts; "
                  "audit: {} duplicated ops, {} inconsistent",
                  audit.ops, total.attempts, total.replies_ok, total.replies_deadline_exceeded,
                  late_ok, total.timeouts, audit.duplicate_ops, audit.inconsistent_ops));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return faultline::scenario_main(argc, argv, kSpec, run);
}
