// Arith.Divide served (seed 000's server): a Server with the one method registered, started at
// construction. rpc-timeout-race hosts it in process or in a --serve process of its own binary.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>

#include "servers/rpc/messages.h"
#include "servers/rpc/server.h"

namespace faultline::rpc {

class ArithServer {
 public:
  ArithServer(std::uint16_t port, int threads)
      : server_({"127.0.0.1", port, threads, kMaxFrameBytes}) {
    register_arith(server_);
    server_.start();
  }
  std::uint16_t port() const { return server_.port(); }
  void stop() { server_.stop(); }
  std::uint64_t requests() const { return server_.stats().requests; }
  std::string summary() const { return fmt::format("{} requests", requests()); }

 private:
  Server server_;
};

}  // namespace faultline::rpc
