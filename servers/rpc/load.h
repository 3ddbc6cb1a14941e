// Load on an RPC server: open loop at a constant rate, or closed loop (docs/latency.md).
//
// Open loop, as wrk2 does it: request i is due at start + i / rate whatever happened to the
// ones before, and is sent on one of `connections` clients without waiting for any reply. Its
// latency is measured twice: from when it was due (`corrected`: a server stall shows in every
// request that fell due during it) and from when it actually left (`uncorrected`). The two
// differ only when the sender itself fell behind, which the result reports (`max_send_lag`).
//
// Closed loop: `connections` callers, each sending its next request when the reply to the last
// one came back. A stall holds back the callers too, so only one request per caller sees it:
// the coordinated omission that the open loop corrects.
//
// Latencies are recorded per connection, by that connection's reader (no lock on the hot path),
// and merged after the run.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "harness/probe/histogram.h"

namespace faultline::rpc {

struct LoadOptions {
  std::uint16_t port = 0;  // the server, on 127.0.0.1
  bool open_loop = true;
  double rate = 1000;  // open loop: requests per second over all connections
  std::chrono::milliseconds duration{2000};
  int connections = 4;                       // closed loop: also the number of callers
  std::chrono::milliseconds timeout{10000};  // per call; a timed-out call is counted, not timed
  int io_threads = 2;
};

struct LoadResult {
  LatencyHistogram corrected;    // ns, from when each request was due (closed loop: as sent)
  LatencyHistogram uncorrected;  // ns, from when each request was sent
  std::uint64_t sent = 0, replied = 0, timed_out = 0, failed = 0;
  double elapsed_s = 0;      // first request due to last one sent
  double achieved_rate = 0;  // sent / elapsed_s
  std::chrono::nanoseconds max_send_lag{
      0};  // open loop: the latest a request left after it was due
  // Open loop: requests that left more than 1 ms after they were due (the generator, not the
  // server, set their send time).
  std::uint64_t sent_late = 0;
  std::string summary() const;  // one line: rate, counts, p50/p99/p99.9/max of both
};

// Runs the load and returns when every request has its reply, its timeout or its failure.
// Throws when a connection cannot be made.
LoadResult run_load(const LoadOptions& options);

}  // namespace faultline::rpc
