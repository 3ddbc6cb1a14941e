#include "servers/rpc/redialing_client.h"

#include <algorithm>
#include <thread>

namespace faultline::rpc {

void RedialStats::add(const RedialStats& other) {
  reconnects += other.reconnects;
  failed_dials += other.failed_dials;
}

faultline::Measures RedialStats::measures() const {
  return {{"reconnects", reconnects, "connections"}, {"failed_dials", failed_dials, "dials"}};
}

RedialingClient::RedialingClient(ClientFleet& fleet, std::uint16_t port, RedialPolicy policy)
    : fleet_(fleet), port_(port), policy_(policy), client_(fleet.dial(port)) {}

RedialingClient::~RedialingClient() {
  if (client_) client_->close();
}

CallResult RedialingClient::call(std::string_view method, std::string body, Decoder decoder,
                                 CallOptions options, std::chrono::steady_clock::duration timeout) {
  if (!client_ && !redial()) {
    return {CallOutcome::kClosed, Status::kOk, "no connection: gave up redialling"};
  }
  auto result =
      client_->call(method, std::move(body), std::move(decoder), std::move(options), timeout);
  if (result.outcome == CallOutcome::kClosed) {
    client_->close();  // its reader has ended; the next call dials a new connection
    client_.reset();
  }
  return result;
}

bool RedialingClient::redial() {
  if (gave_up_) return false;
  const auto start = std::chrono::steady_clock::now();
  auto backoff = policy_.first_backoff;
  for (;;) {
    client_ = fleet_.dial(port_);
    if (client_) {
      ++stats_.reconnects;
      return true;
    }
    ++stats_.failed_dials;
    if (std::chrono::steady_clock::now() - start >= policy_.give_up_after) {
      gave_up_ = true;
      return false;
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, policy_.max_backoff);
  }
}

}  // namespace faultline::rpc
