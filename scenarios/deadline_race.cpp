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
// failed yet committed, or seen OK yet absent). Both are counted, never inferred. Though found
// by the audit after the run, each is timed (first_symptom_s) by when it came to be: a duplicate
// at its operation's second commit, stamped by the ledger (and kept in the journal of a server
// process: CLOCK_MONOTONIC, the same clock); failed-yet-committed once both the commit and the
// client's conclusion had happened; seen-OK-yet-absent only at the audit, so untimed.
#include <fmt/format.h>

#include <thread>
#include <vector>

#include "harness/fault/route.h"
#include "harness/nemesis/scenario_server.h"
#include "harness/scenario/scenario_api.h"
#include "servers/rpc/ledger_service.h"
#include "servers/rpc/redialing_client.h"

namespace {
using namespace faultline;
using namespace faultline::rpc;

const ScenarioSpec kSpec{
    .id = "deadline-race",
    .seed = "003",
    .title = "server replies OK after its deadline; client races reply vs timer, retries",
    .oracle = "duplicate_commit / inconsistent_outcome in a ledger audit",
    .variants = {"buggy", "fixed"},
    .params = {int_param("clients", 8, 1, 256, "concurrent clients, one connection each"),
               int_param("ops-per-client", 25, 1, 10'000,
                         "operations each client appends, one after the other"),
               int_param("deadline-ms", 20, 1, 60'000,
                         "per-attempt deadline in ms, sent as the request's timeout and used as "
                         "the client's timer"),
               int_param("work-jitter-pct", 30, 0, 100,
                         "handler work time = deadline x (1 +- jitter%), uniform and seeded"),
               int_param("max-attempts", 3, 1, 10, "attempts per operation (1 = no retry)"),
               int_param("server-threads", 2, 1, 64, "server io_context threads"),
               int_param("client-threads", 2, 1, 64, "client io_context threads"),
               nemesis::server_param()},
    .faults = {"tcp", "process"},
    .expectations = {// The ledger audit is the oracle in every build.
                     expect_incident("buggy", "*", {{"duplicate_commit"}, {"inconsistent_outcome"}},
                                     {"client_timeouts>0"}),
                     // The window: a client's deadline passed while its operation was in flight.
                     expect_clean("fixed", "*", {"client_timeouts>0"})}};

// The server's half: Ledger.Append's commit step, in process or in a --serve process the nemesis
// kills, which journals each commit (to its state file) before it replies: see LedgerHost.
class LedgerServer final : public ScenarioServer {
 public:
  LedgerServer(Context& ctx, const ServeOptions& serve)
      : fixed_(ctx.is("fixed")),
        host_({"127.0.0.1", serve.port, ctx.params.number("server-threads"), kMaxFrameBytes},
              // The work takes about as long as the deadline, so the reply and the deadline race.
              {ctx.params.ms("deadline-ms"), ctx.params.real("work-jitter-pct") / 100, ctx.seed},
              serve.state_path,
              [this](const Request& r, const AppendArgs& a) { return commit(r, a); }) {}
  std::uint16_t port() const override { return host_.port(); }
  void stop() override { host_.stop(); }
  std::string summary() const override { return host_.summary(); }
  LedgerHost::Record record() const { return host_.record(); }

 private:
  Reply commit(const Request& req, const AppendArgs& args) {
    auto& stats = host_.stats();
    const bool late = req.deadline && SteadyClock::now() >= *req.deadline;
    if (fixed_) {
      // FIX: check the deadline before the commit (one step with it, under the ledger's lock)
      // and deduplicate by the request's idempotency key.
      auto c =
          host_.ledger().commit({args.op, args.attempt, false}, req.idempotency_key, req.deadline);
      if (c == Ledger::Commit::kDeadlineExceeded) {
        ++stats.deadline_exceeded;
        return {Status::kDeadlineExceeded, "deadline exceeded before commit", {}};
      }
      if (c == Ledger::Commit::kDuplicate) {
        ++stats.replays;  // done before: answer OK again, commit nothing
        return {Status::kOk, {}, "{}"};
      }
    } else {
      host_.ledger().append({args.op, args.attempt, late});  // BUG: commit whatever the time
    }
    if (late) ++stats.late_ok;
    return {Status::kOk, {}, "{}"};
  }

  const bool fixed_;
  LedgerHost host_;
};

// The client's half: each operation, attempt after attempt (a lost connection dialled again).
void append_ops(Context& ctx, RedialingClient& client, int c, AppendTally& tally) {
  const bool fixed = ctx.is("fixed");
  const auto deadline = ctx.params.ms("deadline-ms");
  const auto max_attempts = static_cast<std::uint32_t>(ctx.params.integer("max-attempts"));
  for (int i = 0; i < ctx.params.number("ops-per-client"); ++i) {
    ClientOutcome outcome{fmt::format("c{}-{}", c, i), ClientView::kFailed, 0};
    for (std::uint32_t attempt = 1; attempt <= max_attempts; ++attempt) {
      CallOptions options{std::chrono::duration_cast<std::chrono::microseconds>(deadline), {}};
      if (fixed) options.idempotency_key = outcome.op;  // FIX: every attempt carries the key
      const auto sent = SteadyClock::now();
      auto r = client.call(kAppendMethod, encode_append_args({outcome.op, attempt}), nullptr,
                           options, deadline);
      tally.count(r, sent);
      outcome.attempts = attempt;
      // A reply: OK, or the server said it did not commit. BUG: a timeout, or a connection that
      // ended after the request went out, is read as "it did not happen" and retried blindly.
      // FIX: either is an unknown outcome, since the server may have committed it (the closed
      // connection: found with --fault reset_peer and --nemesis kill); the key makes retries safe.
      outcome.view = r.outcome == CallOutcome::kReplied
                         ? (r.status == Status::kOk ? ClientView::kOk : ClientView::kFailed)
                         : (fixed ? ClientView::kUnknown : ClientView::kFailed);
      if (outcome.view == ClientView::kOk) break;
    }
    tally.conclude(std::move(outcome));
  }
  tally.redials = client.stats();
}

int run(Context& ctx) {
  nemesis::RunningServer server(ctx);
  const auto route = fault::route_tcp(ctx, server.port());  // --fault: clients dial the proxy
  ClientFleet fleet(ctx.params.number("client-threads"));
  std::vector<AppendTally> tallies(ctx.params.count("clients"));
  server.start();  // the nemesis's t = 0: the clients begin
  const auto t0 = SteadyClock::now();
  fleet.run_redialing(tallies.size(), route.port(), [&](RedialingClient& client, std::size_t c) {
    append_ops(ctx, client, static_cast<int>(c), tallies[c]);
  });
  ctx.report.millis("clients_ms", SteadyClock::now() - t0);
  // Handlers of abandoned attempts may still be working: wait for them to commit (or not)
  // before the audit reads the ledger. Each works at most deadline x (1 + jitter).
  using namespace std::chrono_literals;
  std::this_thread::sleep_for(
      ctx.params.ms("deadline-ms") * (1 + ctx.params.real("work-jitter-pct") / 100) + 50ms);
  server.stop();
  fleet.stop();
  const AppendTally total = AppendTally::sum(tallies);
  auto* local = dynamic_cast<LedgerServer*>(server.in_process());
  const auto ledger = local ? local->record() : read_journal_record(server.state_path());
  const AuditResult audit = audit_ledger(ledger.entries, total.history);
  ctx.report.metrics(audit_measures(ledger, audit, total));
  ctx.report.load_latency(total.latency, nullptr, total.over_time, 1000.0, "us");
  ctx.report.observation("duplicate_commit", audit.duplicate_ops, audit.duplicate_detail(),
                         audit.first_duplicate);
  ctx.report.observation("inconsistent_outcome", audit.inconsistent_ops,
                         audit.inconsistent_detail(), audit.first_inconsistent);
  ctx.report.note(audit_note(ledger, audit, total));
  fault::report_route(ctx, route);
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  return scenario_main(argc, argv, kSpec, run, serve_with<LedgerServer>());
}
