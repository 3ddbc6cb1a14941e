// A client connection that comes back after it was lost. A call that ended with its connection
// (CallOutcome::kClosed: the server was killed, or the connection reset) leaves the client without
// one, and the next call dials again first, with bounded exponential backoff, so a client outlives
// a server killed and restarted on its port (the nemesis). It never resends by itself: whether the
// lost call took effect is the caller's question (the server may have committed it), and so is
// whether to retry it, and with which idempotency key.
//
// Threads: one RedialingClient belongs to one caller thread; its calls run one at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "harness/probe/measure.h"
#include "servers/rpc/client.h"
#include "servers/rpc/client_fleet.h"

namespace faultline::rpc {

struct RedialPolicy {
  std::chrono::milliseconds first_backoff{5};  // the wait after the first failed dial
  std::chrono::milliseconds max_backoff{200};  // each wait doubles up to this
  // Once dials have failed for this long in a row, the client gives up for good and every later
  // call ends kClosed at once: a server that never comes back must not hold the run.
  std::chrono::milliseconds give_up_after{5000};
};

struct RedialStats {
  std::uint64_t reconnects = 0;    // dials that replaced a lost connection
  std::uint64_t failed_dials = 0;  // refused (or failed) while redialling
  void add(const RedialStats& other);
  faultline::Measures measures() const;  // reconnects, failed_dials
};

class RedialingClient {
 public:
  // Dials once, without backoff: connected() says whether that worked.
  RedialingClient(ClientFleet& fleet, std::uint16_t port, RedialPolicy policy = {});
  ~RedialingClient();  // closes the connection it has
  RedialingClient(const RedialingClient&) = delete;
  RedialingClient& operator=(const RedialingClient&) = delete;

  bool connected() const { return client_ != nullptr; }
  // Client::call on the connection, dialled again first if the last one was lost. kClosed
  // without sending when no dial succeeds within the policy's give_up_after.
  CallResult call(std::string_view method, std::string body, Decoder decoder, CallOptions options,
                  std::chrono::steady_clock::duration timeout);

  RedialStats stats() const { return stats_; }

 private:
  bool redial();

  ClientFleet& fleet_;
  const std::uint16_t port_;
  const RedialPolicy policy_;
  std::shared_ptr<Client> client_;  // null once lost, until a redial succeeds
  bool gave_up_ = false;
  RedialStats stats_;
};

}  // namespace faultline::rpc
