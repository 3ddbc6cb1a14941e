// How a scenario puts the fault proxy between its clients and its server.
//
//   Server server(...);                                   // listens on 127.0.0.1:P
//   auto route = fault::route_tcp(ctx, server.port());    // a proxy only if --fault asked for one
//   Client::dial(io, route.port());                       // clients dial route.port()
//   ...
//   fault::report_route(ctx, route);                      // fault_tcp_* metrics
//
// Without --fault (or with faults of the other protocol only) the route is the server's own
// port and nothing is in the path: a scenario's behaviour is unchanged. The Route keeps the
// proxy alive; destroying it (or stop()) stops the proxy.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/fault/faults.h"
#include "harness/fault/proxy.h"
#include "harness/scenario/scenario_api.h"

namespace faultline::fault {

class Route {
 public:
  Route() = default;
  Route(std::string name, std::uint16_t port, std::shared_ptr<Proxy> proxy)
      : name_(std::move(name)), port_(port), proxy_(std::move(proxy)) {}

  std::uint16_t port() const { return port_; }  // what the clients dial
  bool proxied() const { return proxy_ != nullptr; }
  Proxy* proxy() const { return proxy_.get(); }
  const std::string& name() const { return name_; }
  void stop() {
    if (proxy_) proxy_->stop();
  }

  // The port the server sees as the peer of the client connection whose local port is
  // `client_port`: the same port without a proxy; through the proxy, its upstream connection's
  // port, waited for up to `wait` (the proxy connects upstream after it accepted).
  std::optional<std::uint16_t> server_side_port(std::uint16_t client_port,
                                                std::chrono::milliseconds wait) const;

 private:
  std::string name_;
  std::uint16_t port_ = 0;
  std::shared_ptr<Proxy> proxy_;
};

// Every --fault of the run, parsed and validated; throws std::invalid_argument for a bad spec
// or a family the scenario does not list in ScenarioSpec::faults.
std::vector<Fault> run_faults(const Context& ctx);

// A route to 127.0.0.1:upstream_port for TCP (UDP) clients: through a proxy applying the run's
// TCP (UDP) faults, seeded with the run's seed, or direct when there are none. Records a "fault
// on" timeline event per fault. `name` prefixes the metrics (fault_<name>_...).
// `socket_buffer_bytes`: ProxyOptions::socket_buffer_bytes (0: the kernel's sizes).
Route route_tcp(const Context& ctx, std::uint16_t upstream_port, std::string_view name = "tcp",
                int socket_buffer_bytes = 0);
Route route_udp(const Context& ctx, std::uint16_t upstream_port, std::string_view name = "udp");

// Reports what the route's proxy did as metrics fault_<name>_<counter>; nothing when direct.
void report_route(const Context& ctx, const Route& route);

}  // namespace faultline::fault
