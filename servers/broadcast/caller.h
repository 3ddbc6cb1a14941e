// The broadcast server's caller (seed 004): one UDP request at a time, "broadcast <i> to all
// users", each waiting (bounded) for the server's answer, "ok" or "timeout", then a pause.
#pragma once

#include <chrono>
#include <cstdint>

#include "harness/probe/measure.h"

namespace faultline::broadcast {

struct CallerOptions {
  std::uint16_t port = 0;  // the server's UDP port on 127.0.0.1 (or a proxy's in front of it)
  int requests = 8;        // sent one after the other; fewer once the process is out of fds
  std::chrono::milliseconds reply_wait{2300};  // an answer not read by then counts as missing
  std::chrono::milliseconds interval{100};     // pause after each request's answer (or wait)
};

struct Replies {
  std::uint64_t ok = 0;                  // "ok": the worker completed before the deadline
  std::uint64_t timeout = 0;             // any other answer: the handler gave up at its deadline
  std::uint64_t missing = 0;             // no answer within reply_wait
  faultline::Measures measures() const;  // replies_ok, replies_timeout, replies_missing
};

// A UDP socket bound to 127.0.0.1 (an ephemeral port): the caller's, so that nothing of a run
// is bound beyond loopback. -1 with errno set if it cannot be opened or bound.
int open_loopback_udp();

// Sends the requests from a socket of its own on the calling thread; returns the answers.
Replies call_broadcasts(const CallerOptions& options);

}  // namespace faultline::broadcast
