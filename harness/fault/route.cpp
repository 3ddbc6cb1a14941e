#include "harness/fault/route.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

#include "harness/probe/run_clock.h"

namespace faultline::fault {
namespace {

Route make_route(const Context& ctx, std::uint16_t upstream_port, std::string_view name,
                 Protocol protocol, int socket_buffer_bytes = 0) {
  std::vector<Fault> mine;
  for (auto& f : run_faults(ctx)) {
    if (f.is_udp() == (protocol == Protocol::kUdp)) mine.push_back(std::move(f));
  }
  if (mine.empty()) return Route(std::string(name), upstream_port, nullptr);
  ProxyOptions o;
  o.protocol = protocol;
  o.upstream_port = upstream_port;
  o.faults = mine;
  o.seed = ctx.seed;
  o.socket_buffer_bytes = socket_buffer_bytes;
  auto proxy = std::make_shared<Proxy>(std::move(o));
  const double t = run_seconds();
  for (const auto& f : mine) {
    ctx.report.timeline("fault on", t,
                        fmt::format("{} ({} proxy 127.0.0.1:{} -> 127.0.0.1:{})", f.text, name,
                                    proxy->port(), upstream_port));
  }
  ctx.report.note(fmt::format("fault proxy ({}) on 127.0.0.1:{} in front of 127.0.0.1:{}", name,
                              proxy->port(), upstream_port));
  const std::uint16_t port = proxy->port();
  return Route(std::string(name), port, std::move(proxy));
}

}  // namespace

std::vector<Fault> run_faults(const Context& ctx) {
  std::vector<Fault> out;
  for (const auto& text : ctx.faults) {
    Fault f = make_fault(text);  // throws with the message naming the key and range
    const std::string family = f.is_udp() ? "udp" : "tcp";
    const auto& accepted = ctx.spec.faults;
    if (std::find(accepted.begin(), accepted.end(), family) == accepted.end()) {
      throw std::invalid_argument(
          fmt::format("--fault {}: {} has no {} traffic to put it on (fault families: {})", text,
                      ctx.spec.id, family == "udp" ? "UDP" : "TCP", fmt::join(accepted, ", ")));
    }
    out.push_back(std::move(f));
  }
  return out;
}

Route route_tcp(const Context& ctx, std::uint16_t upstream_port, std::string_view name,
                int socket_buffer_bytes) {
  return make_route(ctx, upstream_port, name, Protocol::kTcp, socket_buffer_bytes);
}

Route route_udp(const Context& ctx, std::uint16_t upstream_port, std::string_view name) {
  return make_route(ctx, upstream_port, name, Protocol::kUdp);
}

std::optional<std::uint16_t> Route::server_side_port(std::uint16_t client_port,
                                                     std::chrono::milliseconds wait) const {
  if (!proxy_) return client_port;
  const auto until = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (auto p = proxy_->upstream_port_for(client_port)) return p;
    if (std::chrono::steady_clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void report_route(const Context& ctx, const Route& route) {
  if (!route.proxied()) return;
  const ProxyStats s = route.proxy()->stats();
  auto m = [&](std::string_view what, std::uint64_t v, std::string_view unit) {
    ctx.report.metric(fmt::format("fault_{}_{}", route.name(), what), static_cast<double>(v), unit);
  };
  if (route.proxy()->options().protocol == Protocol::kTcp) {
    m("connections", s.connections, "connections");
    m("upstream_failures", s.upstream_failures, "connections");
    m("bytes_up", s.bytes_up, "B");
    m("bytes_down", s.bytes_down, "B");
    m("bytes_dropped", s.bytes_dropped, "B");
    m("chunks_delayed", s.chunks_delayed, "chunks");
    m("slices", s.slices, "writes");
    m("resets", s.resets, "connections");
    m("timeouts", s.timeouts, "connections");
    m("limits", s.limits, "connections");
    m("slow_closes", s.slow_closes, "closes");
    m("partition_cuts", s.partition_cuts, "directions");
  } else {
    m("flows", s.flows, "flows");
    m("datagrams_up", s.datagrams_up, "datagrams");
    m("datagrams_down", s.datagrams_down, "datagrams");
    m("datagrams_sent_up", s.datagrams_sent_up, "datagrams");
    m("datagrams_sent_down", s.datagrams_sent_down, "datagrams");
    m("dropped", s.dropped, "datagrams");
    m("duplicated", s.duplicated, "datagrams");
    m("reordered", s.reordered, "datagrams");
    m("delayed", s.delayed, "datagrams");
  }
  for (std::size_t i = 0; i < s.affected.size(); ++i) {
    m(fmt::format("affected_{}", i + 1), s.affected[i],
      route.proxy()->options().protocol == Protocol::kTcp ? "connections" : "flows");
  }
}

}  // namespace faultline::fault
