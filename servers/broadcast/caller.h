// The broadcast server's caller (seed 004). Closed loop, as the seed's: one UDP request at a
// time, "broadcast <i> to all users", each waiting (bounded) for the server's answer ("ok ..."
// or "timeout ...", followed by the request), then a pause. Open loop (`rate`): request i is
// sent when it is due, whether or not the ones before were answered, and each answer is timed
// from when its request was due (docs/latency.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "harness/probe/first_seen.h"
#include "harness/probe/histogram.h"
#include "harness/probe/latency_series.h"
#include "harness/probe/measure.h"
#include "harness/probe/schedule.h"
#include "harness/probe/thread_sampler.h"

namespace faultline::broadcast {

struct CallerOptions {
  std::uint16_t port = 0;  // the server's UDP port on 127.0.0.1 (or a proxy's in front of it)
  int requests = 8;        // sent one after the other; fewer once the process is out of fds
  std::chrono::milliseconds reply_wait{2300};  // an answer not read by then counts as missing
  std::chrono::milliseconds interval{100};     // pause after each request's answer (or wait)
  // Open loop: requests per second; the interval is then unused, and reply_wait counts from
  // the last request's due time.
  std::optional<double> rate;
};

struct Replies {
  std::uint64_t ok = 0;       // "ok": the worker completed before the deadline
  std::uint64_t timeout = 0;  // any other answer: the handler gave up at its deadline
  std::uint64_t missing = 0;  // no answer within reply_wait
  // When the caller read the first "timeout" answer: a handler had given up on its worker.
  std::optional<std::chrono::steady_clock::time_point> first_timeout;
  // Request to answer, ns: from when it was due (open loop) or sent (both loops).
  faultline::LatencyHistogram corrected, uncorrected;
  faultline::LatencySeries over_time;    // the corrected latency by when each answer came
  faultline::SendLag send_lag;           // open loop only
  double achieved_rate = 0;              // open loop: requests sent per second
  faultline::Measures measures() const;  // replies_ok, replies_timeout, replies_missing
  // rate_target, rate_achieved, requests_sent_late, max_send_lag_ms
  faultline::Measures open_loop_measures(double target_rate) const;
};

// The caller of a server whose Handle gives up at `deadline`: each answer is awaited deadline +
// 2 s; in open loop (`rate`) the server still answers one request at a time, so the last may
// wait for all before it: at least (deadline + 100 ms) x requests.
CallerOptions caller_for(std::uint16_t port, int requests, std::chrono::milliseconds deadline,
                         std::chrono::milliseconds interval, std::optional<double> rate);

// A UDP socket bound to 127.0.0.1 (an ephemeral port): the caller's, so that nothing of a run
// is bound beyond loopback. -1 with errno set if it cannot be opened or bound.
int open_loopback_udp();

// When a thread leak was first seen in `samples` (thread counts of the server, in time order):
// the first sample of the last unbroken run of samples above `baseline` up to now (samples taken
// later, after a sampler's stop, say, are not looked at), not counting samples before `after` (the
// first timeout answer: a thread outlives its handler only once the handler gave up). Nothing
// without `after`, or when the samples up to now do not end above the baseline. A sample cannot
// tell a leaked thread from a worker still pushing, so a busy worker at the start of that run makes
// the time early by its push.
std::optional<std::chrono::steady_clock::time_point> leak_first_seen(
    const std::vector<ThreadSampler::Sample>& samples, int baseline,
    std::optional<std::chrono::steady_clock::time_point> after);

// Sends the requests from a socket of its own on the calling thread; returns the answers.
Replies call_broadcasts(const CallerOptions& options);

}  // namespace faultline::broadcast
