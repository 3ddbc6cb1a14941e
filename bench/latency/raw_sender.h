// The least a client can do to load the RPC server: pre-encoded request frames written in
// batches on blocking sockets, replies counted by their length prefixes and never decoded, no
// timing per call. Its throughput is the server's ceiling on this machine, against which the
// open-loop generator of servers/rpc/load.h is measured (docs/latency.md, "The generator's
// ceiling").
#pragma once

#include <chrono>
#include <cstdint>

namespace faultline::bench {

struct RawResult {
  std::uint64_t sent = 0;
  std::uint64_t replied = 0;       // while the writers ran
  std::uint64_t late_replies = 0;  // to requests still outstanding when they stopped
  double seconds = 0;
  double rate() const { return seconds > 0 ? static_cast<double>(replied) / seconds : 0; }
};

// `connections` connections to 127.0.0.1:port, each with a writer that keeps up to `window`
// requests outstanding and a reader, for `duration`. Throws when a connection cannot be made.
RawResult run_raw_sender(std::uint16_t port, int connections, int window,
                         std::chrono::milliseconds duration);

}  // namespace faultline::bench
