// faultline proxy: the fault proxy on its own, in front of any TCP or UDP server.
#include <fmt/format.h>

#include <boost/system/system_error.hpp>
#include <chrono>
#include <iostream>
#include <limits>
#include <random>
#include <thread>

#include "harness/cli/cli.h"
#include "harness/fault/faults.h"
#include "harness/fault/proxy.h"
#include "harness/judge/summary.h"
#include "harness/probe/loopback.h"

namespace faultline::cli {
namespace po = boost::program_options;

namespace {

std::string fault_list() {
  std::string out;
  for (const auto& k : fault::kinds()) {
    std::string keys;
    for (const auto& p : k.params) {
      keys += fmt::format("{}{}{}", keys.empty() ? "" : ",", p.key,
                          p.default_value ? fmt::format("={}", *p.default_value) : "=N");
    }
    out += fmt::format("  {:<14} {} {}\n  {:<14} {}   e.g. {}\n", k.name, k.family, k.help, "",
                       keys, k.example);
  }
  return out;
}

std::uint16_t parse_port(const std::string& text, const std::string& what, bool zero_ok) {
  std::size_t used = 0;
  unsigned long v = 0;
  try {
    v = std::stoul(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || v > 65535 || (!zero_ok && v == 0)) {
    throw UsageError(fmt::format("{} '{}': the port must be a number from {} to 65535", what, text,
                                 zero_ok ? 0 : 1));
  }
  return static_cast<std::uint16_t>(v);
}

// "PORT" or "HOST:PORT" to listen on; "HOST:PORT" upstream.
void parse_addresses(const std::string& listen, const std::string& upstream,
                     fault::ProxyOptions& options) {
  if (auto colon = listen.rfind(':'); colon != std::string::npos) {
    options.listen_host = listen.substr(0, colon);
    options.listen_port = parse_port(listen.substr(colon + 1), "--listen", true);
  } else {
    options.listen_port = parse_port(listen, "--listen", true);
  }
  const auto colon = upstream.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    throw UsageError(
        fmt::format("--upstream '{}' is not HOST:PORT (e.g. 127.0.0.1:8080)", upstream));
  }
  options.upstream_host = upstream.substr(0, colon);
  options.upstream_port = parse_port(upstream.substr(colon + 1), "--upstream", false);
}

// Each --fault parsed, validated and of the proxy's family.
std::vector<fault::Fault> proxy_faults(const std::vector<std::string>& texts,
                                       const std::string& family) {
  std::vector<fault::Fault> out;
  for (const auto& text : texts) {
    FaultSpec spec;
    try {
      spec = parse_fault_spec(text);
    } catch (const std::invalid_argument& e) {
      throw UsageError(fmt::format("--fault: {}", e.what()));
    }
    if (auto problem = fault::validate_fault(spec)) {
      throw UsageError(fmt::format("--fault: {}", *problem));
    }
    if (fault::fault_family(spec) != family) {
      throw UsageError(fmt::format(
          "--fault {}: a {} fault on a {} proxy ({})", text, fault::fault_family(spec), family,
          family == "udp" ? "drop --udp for TCP faults" : "add --udp for UDP faults"));
    }
    out.push_back(fault::make_fault(spec));
  }
  return out;
}

// Until the duration passes (0: forever) or Ctrl-C.
void wait_for_the_end(double duration_s) {
  install_interrupt_handlers();
  const auto until = duration_s > 0
                         ? std::chrono::steady_clock::now() +
                               std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                   std::chrono::duration<double>(duration_s))
                         : std::chrono::steady_clock::time_point::max();
  while (!g_stop.load() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void print_proxy_stats(const fault::ProxyOptions& options, const fault::ProxyStats& s) {
  const bool tcp = options.protocol == fault::Protocol::kTcp;
  if (tcp) {
    std::cout << fmt::format(
        "connections {} (upstream failures {}), bytes up {} down {} dropped {}, resets {}, "
        "timeouts {}, limits {}, slow closes {}, delayed chunks {}, slices {}, partition cuts {}\n",
        s.connections, s.upstream_failures, s.bytes_up, s.bytes_down, s.bytes_dropped, s.resets,
        s.timeouts, s.limits, s.slow_closes, s.chunks_delayed, s.slices, s.partition_cuts);
  } else {
    std::cout << fmt::format(
        "flows {}, datagrams up {} (sent {}) down {} (sent {}), dropped {}, duplicated {}, "
        "reordered {}, delayed {}\n",
        s.flows, s.datagrams_up, s.datagrams_sent_up, s.datagrams_down, s.datagrams_sent_down,
        s.dropped, s.duplicated, s.reordered, s.delayed);
  }
  for (std::size_t i = 0; i < s.affected.size(); ++i) {
    std::cout << fmt::format("  {} affected {} {}\n", options.faults[i].text, s.affected[i],
                             tcp ? "connections" : "flows");
  }
}

// The proxy's options from its command line; UsageError for anything out of range.
fault::ProxyOptions proxy_options(const po::variables_map& vm, const std::string& listen,
                                  const std::string& upstream,
                                  const std::vector<std::string>& faults, double duration_s,
                                  int threads) {
  if (listen.empty() || upstream.empty()) {
    throw UsageError(
        "proxy: give --listen PORT and --upstream HOST:PORT, e.g. faultline proxy --listen "
        "9000 --upstream 127.0.0.1:8080 --fault latency:ms=5");
  }
  fault::ProxyOptions options;
  options.protocol = vm.count("udp") ? fault::Protocol::kUdp : fault::Protocol::kTcp;
  parse_addresses(listen, upstream, options);
  if (!(duration_s >= 0) || duration_s > 7 * 86400) {
    throw UsageError(
        fmt::format("--duration {} is out of range: use 0 to 604800 seconds", duration_s));
  }
  if (threads < 1 || threads > 64) {
    throw UsageError(fmt::format("--threads {} is out of range: use 1 to 64", threads));
  }
  options.faults = proxy_faults(faults, options.protocol == fault::Protocol::kUdp ? "udp" : "tcp");
  options.seed =
      vm.count("seed") ? vm["seed"].as<std::uint64_t>() : std::random_device{}() % 1000000000u;
  options.threads = threads;
  return options;
}

}  // namespace

int proxy(const Args& args) {
  std::string listen;
  std::string upstream;
  std::vector<std::string> faults;
  double duration_s = 0;
  int threads = 1;
  po::options_description desc(
      "usage: faultline proxy --listen PORT --upstream HOST:PORT [--udp] --fault SPEC ...\n"
      "                       [--seed S] [--duration S] [--threads N]\n\n"
      "Forwards TCP (or with --udp, UDP) from 127.0.0.1:PORT to HOST:PORT and applies the\n"
      "faults on the way, until --duration seconds passed or Ctrl-C; then prints what it did.\n"
      "Every fault takes direction=up|down|both (up: client to server; default down, as\n"
      "Toxiproxy's) and toxicity=0..1 (the probability that a connection, or a UDP client's flow,\n"
      "is affected). Latency, bandwidth, slicer and the UDP faults also take from-ms and until-ms\n"
      "(a window from the proxy's start) and after-bytes=N (UDP: after-datagrams=N; the first N\n"
      "of each connection pass clean). Draws come from --seed: the same seed and traffic make the\n"
      "same draws.\n"
      "docs/faults.md describes each fault.\n\n"
      "examples:\n"
      "  faultline proxy --listen 9000 --upstream 127.0.0.1:8000 --fault latency:ms=50,jitter=10\n"
      "  faultline proxy --listen 9001 --upstream 127.0.0.1:8001 --udp --fault udp-loss:p=0.05\n\n"
      "faults (kind family what / keys, N: required):\n" +
      fault_list() + "\noptions");
  desc.add_options()("help,h", "this text")(
      "listen", po::value(&listen),
      "port to listen on, on 127.0.0.1 (0: any free port, printed); or HOST:PORT (beyond "
      "loopback only when named, with a warning)")("upstream", po::value(&upstream),
                                                   "HOST:PORT of the server to forward to")(
      "udp", "forward UDP instead of TCP")("fault", po::value(&faults)->composing(),
                                           "a fault, kind:key=value,... (repeatable)")(
      "seed", po::value<std::uint64_t>(), "seed of every random draw (default: random, printed)")(
      "duration", po::value(&duration_s)->default_value(0), "seconds to run (0: until Ctrl-C)")(
      "threads", po::value(&threads)->default_value(1),
      "io threads (TCP connections spread over them)");
  auto vm = parse("proxy", args, desc);
  if (vm.count("help")) {
    std::cout << desc;
    return kExitOk;
  }
  const fault::ProxyOptions options =
      proxy_options(vm, listen, upstream, faults, duration_s, threads);
  if (!is_loopback_host(options.listen_host)) {
    std::cerr << "faultline proxy: " << beyond_loopback_warning(options.listen_host) << "\n";
  }
  std::unique_ptr<fault::Proxy> proxy;
  try {
    proxy = std::make_unique<fault::Proxy>(options);
  } catch (const boost::system::system_error& e) {
    throw UsageError(fmt::format("proxy: cannot listen on {}:{} or resolve {}: {}",
                                 options.listen_host, options.listen_port, upstream,
                                 e.code().message()));
  }
  std::cout << fmt::format("faultline proxy: {} {}:{} -> {} seed {}\n",
                           options.protocol == fault::Protocol::kUdp ? "udp" : "tcp",
                           options.listen_host, proxy->port(), upstream, options.seed);
  for (const auto& f : options.faults) std::cout << "  fault " << f.text << "\n";
  if (options.faults.empty()) std::cout << "  no fault: plain forwarding\n";
  std::cout << std::flush;
  wait_for_the_end(duration_s);
  proxy->stop();
  print_proxy_stats(options, proxy->stats());
  // Ctrl-C is the normal end of a run without --duration; before the duration, an interruption.
  return g_stop.load() && duration_s > 0 ? kExitInterrupted : kExitOk;
}

}  // namespace faultline::cli
