// A burst client for the echo protocol: B bursts of C connections opened at once, each sending
// M frames and checking every echo. Each client thread owns its counters and histogram; they
// are merged after the join (no lock on the hot path).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "harness/probe/first_seen.h"
#include "harness/probe/histogram.h"
#include "harness/probe/latency_series.h"
#include "harness/probe/measure.h"
#include "harness/probe/schedule.h"

namespace faultline::epoll {

struct BurstOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  int bursts = 5;
  int connections = 64;       // per burst, opened at once
  int frames = 8;             // per connection
  int max_frame_bytes = 256;  // payload sizes are drawn from 1..this
  int threads = 4;            // client threads sharing a burst's connections
  int connect_timeout_ms = 1000;
  int io_timeout_ms = 2000;  // per reply
  int gap_ms = 50;           // pause between bursts
  std::uint64_t seed = 1;    // payload sizes and bytes
  // Open loop: frames per second on each connection; a round's frames are due at fixed times
  // from when the burst's connections were made, and their latency counts from then too.
  std::optional<double> rate;
  // Called after each burst's connections are all closed, before the gap (burst index from 0).
  std::function<void(int)> after_burst;
};

struct BurstCounts {
  std::uint64_t connects_ok = 0;
  std::uint64_t refused = 0;    // ECONNREFUSED: nothing listens on the port
  std::uint64_t reset = 0;      // ECONNRESET on connect or during the exchange
  std::uint64_t timed_out = 0;  // connect did not complete within connect_timeout_ms
  std::uint64_t other_errors = 0;
  std::uint64_t frames_ok = 0;
  std::uint64_t frames_lost = 0;     // no reply: timeout, EOF or reset before it came
  std::uint64_t frames_corrupt = 0;  // a reply that is not "received: " + the request
  // A burst's own span (per_burst only; add() leaves them): from before its connections went
  // out to after the last one closed, to tell its refusals from those of a server that was down.
  std::chrono::steady_clock::time_point started{}, ended{};
  // When the client saw its first refused or reset connect (a reset during the exchange too), and
  // its first corrupt reply: the moment it got the error or checked the reply. add() keeps the
  // earlier of each.
  std::optional<std::chrono::steady_clock::time_point> first_refused, first_corrupt;
  void add(const BurstCounts& o);
  // connects_ok, conn_refused, conn_reset, conn_timed_out, conn_other_errors, frames_ok,
  // frames_lost, frames_corrupt (no unit).
  faultline::Measures measures() const;
};

struct BurstResult {
  BurstCounts total;
  std::vector<BurstCounts> per_burst;
  LatencyHistogram latency;            // one frame's round trip from its send, nanoseconds
  LatencyHistogram latency_corrected;  // open loop: from when the frame was due
  LatencySeries over_time;  // each reply's latency (corrected in open loop) by when it came
  SendLag send_lag;         // open loop: how late the rounds went out
  // Open loop at `rate` frames/s per connection: rate_target, rounds_sent_late, max_send_lag_ms.
  faultline::Measures open_loop_measures(double rate) const;
};

BurstResult run_bursts(const BurstOptions& options);

// Refused or reset connects, burst by burst. Those of bursts that `excluded` picks (a server that
// was down then, say) are counted apart and marked "(server down)" in the text.
struct RefusalTally {
  std::uint64_t counted = 0, excluded = 0;
  std::optional<std::chrono::steady_clock::time_point> first;  // the first counted one's
  std::string per_burst;                   // "burst 1: 64 ok / 0 refused / 0 reset; burst 2: ..."
  faultline::Measures per_burst_measures;  // burst<N>_refused_or_reset, N from 1
};
RefusalTally tally_refusals(const BurstResult& result,
                            const std::function<bool(const BurstCounts&)>& excluded);

// One connection's attempt, outcome only (used by tests and the benchmark).
enum class ConnectOutcome { kOk, kRefused, kReset, kTimedOut, kOther };
// Connects a non-blocking socket to host:port within timeout_ms; on kOk `fd_out` holds it.
ConnectOutcome connect_with_timeout(const std::string& host, std::uint16_t port, int timeout_ms,
                                    int& fd_out);

}  // namespace faultline::epoll
