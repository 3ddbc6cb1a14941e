// The fault proxy: a TCP or UDP forwarder on Boost.Asio that sits between a scenario's clients
// and its server and applies network faults (harness/fault/faults.h) on the way.
//
// Threads and ownership: the proxy owns its io_context and the threads that run it. Every TCP
// connection runs on a strand of its own (its two directions, their timers and queues are
// touched only there); the UDP side runs on one strand. Timers are waited on and cancelled only
// on their strand. stop() stops the io_context, joins the threads, then destroys every
// connection on the calling thread: clients see their connection close.
//
// Randomness: every draw is a pure function of the seed, the fault's index in the list and a
// stable index: the connection's (TCP, in accept order) or UDP flow's (in order of first
// datagram) for toxicity, and per-direction chunk or datagram counters for the rest. The same
// seed with the same traffic makes the same draws.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/fault/faults.h"

namespace faultline::fault {

enum class Protocol { kTcp, kUdp };

struct ProxyOptions {
  Protocol protocol = Protocol::kTcp;
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;  // 0: the kernel chooses
  std::string upstream_host = "127.0.0.1";
  std::uint16_t upstream_port = 0;
  std::vector<Fault> faults;  // all of the proxy's protocol (std::invalid_argument otherwise)
  std::uint64_t seed = 0;
  int threads = 1;  // io_context threads
  // TCP: SO_RCVBUF and SO_SNDBUF of both of the proxy's sockets, and the most a direction holds
  // in its latency queue, bytes (0: the kernel's sizes and 1 MiB). A scenario whose incident
  // needs a full socket (a slow reader's backpressure) passes its own buffer size, so the
  // proxy does not absorb what the server's socket would have held.
  int socket_buffer_bytes = 0;
};

struct ProxyStats {
  // TCP
  std::uint64_t connections = 0;        // accepted from clients
  std::uint64_t upstream_failures = 0;  // could not connect upstream: the client was reset
  std::uint64_t bytes_up = 0;           // written to the server
  std::uint64_t bytes_down = 0;         // written to the client
  std::uint64_t bytes_dropped = 0;      // read and never passed on (timeout, limit_data)
  std::uint64_t chunks_delayed = 0;     // chunks that went through a latency fault
  std::uint64_t slices = 0;             // writes made by the slicer
  std::uint64_t resets = 0;             // connections reset by reset_peer
  std::uint64_t timeouts = 0;           // connections closed by timeout
  std::uint64_t limits = 0;             // connections closed by limit_data
  std::uint64_t slow_closes = 0;        // closes delayed by slow_close
  std::uint64_t partition_cuts = 0;     // directions of connections a partition cut
  // UDP
  std::uint64_t flows = 0;  // distinct client endpoints
  std::uint64_t datagrams_up = 0;
  std::uint64_t datagrams_down = 0;
  std::uint64_t datagrams_sent_up = 0;
  std::uint64_t datagrams_sent_down = 0;
  std::uint64_t dropped = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t reordered = 0;
  std::uint64_t delayed = 0;
  // Per fault (in the order given): connections or flows the toxicity draw selected.
  std::vector<std::uint64_t> affected;
};

class Proxy {
 public:
  // Binds, resolves the upstream and starts the threads. Throws boost::system::system_error
  // (bind, resolve) or std::invalid_argument (a fault of the other protocol).
  explicit Proxy(ProxyOptions options);
  ~Proxy();  // stop()
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  std::uint16_t port() const;
  const ProxyOptions& options() const;
  ProxyStats stats() const;  // thread-safe snapshot
  void stop();               // idempotent

  // TCP: for the client connection whose local port is `client_port`, the local port of the
  // proxy's connection to the server (the peer port the server sees), once it is connected.
  std::optional<std::uint16_t> upstream_port_for(std::uint16_t client_port) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace faultline::fault
