// The load of rpc-timeout-race (seed 000): a burst of callers that start together, as the seed's
// thousand goroutines do, each making one call on a connection of its own, and what each saw.
// The callers stay alive after their call returned until every late response had its chance to
// land: a returned goroutine's stack is gone, a returned thread's would be unmapped, and the
// incident needs the former.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/probe/first_seen.h"
#include "harness/probe/histogram.h"
#include "harness/probe/latency_series.h"
#include "harness/probe/measure.h"
#include "harness/probe/schedule.h"
#include "servers/rpc/client.h"
#include "servers/rpc/client_fleet.h"

namespace faultline::rpc {

// What one caller saw; each caller writes only its own slot, the main thread reads them after
// the join (the per-thread records of a wrk-style load generator).
struct CallerResult {
  // The caller's client stays referenced until the end of the run, as Go's garbage collector
  // keeps a client the reader still uses: dropping it here would post a close to the
  // connection's strand after the caller's read, an ordering the incident does not have.
  std::shared_ptr<Client> client;
  enum Kind { kNone, kOk, kTimedOut, kFailed } kind = kNone;
  std::chrono::steady_clock::time_point called_at{};  // when go() sent the call
  std::int64_t latency_ns = -1;                       // go() to completion, completed calls only
  std::int64_t timer_late_ns = -1;  // wake-up time minus the timeout's due time, timeouts only
  bool reply_wrong = false;         // a completed OK reply with the wrong answer
  std::size_t entries_read = 0;     // reply entries the caller saw
  std::optional<std::chrono::steady_clock::time_point> wrong_at;  // when it read the wrong one
  // The caller's read of its reply (right or not): wrong when the call completed OK and the
  // answer is not right, timed at this read.
  void check_reply(bool right) {
    reply_wrong = kind == kOk && !right;
    if (reply_wrong) wrong_at = std::chrono::steady_clock::now();
  }
  // How the caller's select ended, woken at `woke`: `call` completed (its outcome sets ok or
  // failed, timed from called_at), or the timeout due at `due` fired first.
  void record_wait(bool completed, const Call& call, std::chrono::steady_clock::time_point due,
                   std::chrono::steady_clock::time_point woke);
};

// The callers' results summed: counts, latency of completed calls, lateness of timeouts.
struct BurstTimes;

struct CallerTally {
  std::size_t callers = 0;
  std::uint64_t ok = 0, timed_out = 0, failed = 0, wrong = 0, entries_read = 0;
  std::optional<std::chrono::steady_clock::time_point> first_wrong;  // the earliest wrong_at
  std::uint64_t late_replies_dropped = 0;                            // counted by the clients
  std::uint64_t decodes = 0;  // responses the readers decoded
  int peak_in_flight = 0;
  LatencyHistogram latency;
  LatencyHistogram timer_late;
  // Open loop only: each completed call's latency from when its caller was due (the dial
  // included), how late the callers started, and the rate they started at.
  LatencyHistogram latency_corrected;
  // Each completed call's latency (corrected in open loop) by when it completed.
  LatencySeries over_time;
  SendLag start_lag;
  double achieved_rate = 0;
  static CallerTally sum(const std::vector<CallerResult>& results, std::uint64_t decodes,
                         int peak_in_flight, const BurstTimes& times);
  // calls_ok, calls_timed_out, calls_failed, peak_calls_in_flight, responses_decoded,
  // decoded_after_timeout, late_replies_dropped, quotient_entries_read, then the burst's times;
  // open loop: rate_target, rate_achieved, calls_started_late, max_start_lag_ms.
  Measures measures(const BurstTimes& times) const;
  std::string summary(const BurstTimes& times) const;  // the run in one line
  // The corrupt_output observation's detail: whether any completed OK reply was wrong.
  std::string wrong_detail() const {
    return wrong ? "completed OK replies with a wrong quotient" : "every completed reply right";
  }
};

// Calls in flight now, and the most at once.
class InFlight {
 public:
  void add(int delta);
  int peak() const { return peak_.load(); }

 private:
  std::atomic<int> now_{0};
  std::atomic<int> peak_{0};
};

// Seed 000's Go() and select: sends the call, waits for it until `timeout`, and records in `out`
// what the caller saw (kind, latency or how late the timeout fired). Returns the call.
std::shared_ptr<Call> go_and_wait(Client& client, std::string_view method, std::string body,
                                  Decoder decoder, std::chrono::microseconds timeout,
                                  InFlight& in_flight, CallerResult& out);

// The named fault "decode-delay": the reader stalls before it decodes, as a slow decoder on a
// loaded machine does; the stall of caller `caller` is a pure function of the seed and the
// caller, uniform in 0..max_us. Every decode is counted in `decodes`.
std::string decode_delay_note(std::int64_t max_us);  // the fault, on, in one line
Decoder delayed_decoder(std::uint64_t seed, std::size_t caller, std::int64_t max_us,
                        std::atomic<std::uint64_t>& decodes, Decoder inner);

struct BurstTimes {
  std::chrono::steady_clock::duration spawn{}, callers{}, drain_and_join{};
  bool drained = false;  // every connection closed and drained within the grace period
  // Open loop: the callers' schedule, and when each caller's turn came (it then ran call(i)).
  std::optional<OpenLoopSchedule> schedule;
  std::vector<std::chrono::steady_clock::time_point> started;
  Measures measures() const;  // spawn_ms, callers_ms, drain_and_join_ms, readers_drained
};

// Starts `callers` threads (fewer if the thread limit refuses one: those count as finished),
// then runs `at_start` (the nemesis's t = 0) and releases them together; each runs call(i),
// at once or, with a `rate`, when its turn in an open-loop schedule from the release comes.
// Once all returned, the readers get up to `grace` to finish what they hold; then the fleet
// stops and the callers are joined.
BurstTimes run_caller_burst(ClientFleet& fleet, std::size_t callers,
                            std::chrono::milliseconds grace, std::optional<double> rate,
                            const std::function<void()>& at_start,
                            const std::function<void(std::size_t)>& call);

}  // namespace faultline::rpc
