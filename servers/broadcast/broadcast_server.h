// The broadcast server of seed 004: TCP keeps one long connection per client; a UDP datagram
// asks the server to push a message to every client. Each request runs Handle(), which starts a
// worker thread that pushes to all clients and waits for the worker's completion on a channel,
// or for its deadline, whichever comes first.
//
// Lifetimes: the server owns its sockets and client connections. A worker is detached (Go's `go
// func()`): it holds the server only while it pushes (stop() waits for those), and the completion
// channel for as long as it lives. A worker blocked forever on a rendezvous channel (the incident)
// holds nothing of the server.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness/probe/measure.h"

namespace faultline::broadcast {

struct BroadcastOptions {
  std::chrono::milliseconds deadline{300};  // Handle's deadline (the seed's was 5 s)
  std::size_t completion_capacity = 0;      // the completion channel's buffer
  bool worker_stops_at_deadline = false;    // whether the worker's pushes honour the deadline
  std::size_t push_bytes = 64 * 1024;       // payload of each pushed message
  int client_send_buffer = 16 * 1024;       // SO_SNDBUF of accepted connections, bytes (0: default)
  // TCP and UDP both listen on this port number (TCP and UDP ports are separate spaces), so one
  // number names the server and a restart can bind it again; 0: TCP's is the kernel's choice.
  std::uint16_t port = 0;
};

struct BroadcastStats {
  std::atomic<std::uint64_t> clients{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> completed{0};  // the worker reported back before the deadline
  std::atomic<std::uint64_t> timed_out{0};  // Handle gave up waiting
  std::atomic<std::uint64_t> pushes_ok{0};
  std::atomic<std::uint64_t> pushes_abandoned{0};  // not sent: deadline passed or server stopping
  std::atomic<std::uint64_t> clients_dropped{0};   // a push failed or was cut mid-message
  std::atomic<std::uint64_t> workers_started{0};
  std::atomic<std::uint64_t> workers_pushing{0};  // inside run() right now

  // What a scenario reports: broadcasts_completed, broadcasts_timed_out, pushes_ok,
  // pushes_abandoned, clients_dropped, broadcast_requests, clients_accepted (no unit).
  faultline::Measures measures() const;
};

class BroadcastServer {
 public:
  // Binds TCP and UDP on 127.0.0.1, both on options.port (see there). Throws std::system_error.
  explicit BroadcastServer(BroadcastOptions options);
  ~BroadcastServer();  // stop()
  BroadcastServer(const BroadcastServer&) = delete;
  BroadcastServer& operator=(const BroadcastServer&) = delete;

  void start();  // accept and UDP threads
  // Stops accepting and serving requests, cuts every push short, waits (at most `timeout`) for
  // workers to leave their pushes, then closes the client connections. Workers blocked on their
  // completion channel stay blocked: that is the leak, and it must not hang the caller.
  void stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

  std::uint16_t tcp_port() const { return tcp_port_; }
  std::uint16_t udp_port() const { return udp_port_; }
  std::uint16_t port() const { return tcp_port_; }  // the UDP port too unless options.port = 0
  faultline::Measures measures() const { return stats_.measures(); }
  std::string summary() const;  // requests, timed out, clients accepted
  std::size_t client_count() const;
  // Waits until `n` clients are connected (at most `timeout`); true when they are.
  bool wait_for_clients(std::size_t n, std::chrono::milliseconds timeout) const;
  const BroadcastStats& stats() const { return stats_; }

  // The seed's UdpTransport.Handle: starts a worker pushing `message` to every client and waits
  // for it until the deadline. Returns whether the worker completed in time.
  bool handle(const std::string& message);

 private:
  struct Client;
  using Clock = std::chrono::steady_clock;

  void accept_loop();
  void udp_loop();
  // The seed's t.run(): pushes one message to every client; gives up on the rest at `push_until`.
  void run(const std::string& message, Clock::time_point push_until);
  void drop(Client& client);

  const BroadcastOptions options_;
  int tcp_fd_ = -1;
  int udp_fd_ = -1;
  std::uint16_t tcp_port_ = 0;
  std::uint16_t udp_port_ = 0;
  std::atomic<bool> stopping_{false};
  BroadcastStats stats_;
  mutable std::mutex mutex_;  // guards clients_ and the workers_pushing_ wait
  mutable std::condition_variable changed_;
  std::vector<std::shared_ptr<Client>> clients_;
  std::thread accept_thread_;
  std::thread udp_thread_;
};

}  // namespace faultline::broadcast
