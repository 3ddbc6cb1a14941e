// A raw epoll reactor serving framed echo (servers/epoll/frame.h) on one thread.
//
// Lifetimes: the reactor polls its listener by raw fd number. It owns the listening socket only if
// it was handed the Listener with own(); otherwise the number stays valid only as long as the
// caller keeps the Listener alive (seed 002: the owner was collected while the number was still
// polled). The reactor owns every accepted connection and closes them all when it stops.
//
// Sockets are non-blocking and level-triggered. Each connection buffers at most one maximal frame
// of input and `max_output_bytes` of replies: when the peer does not read its replies, the reactor
// stops reading from it until the output drains (back-pressure instead of unbounded growth).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>

#include "harness/probe/first_seen.h"
#include "harness/probe/measure.h"
#include "servers/epoll/listener.h"

namespace faultline::epoll {

struct ReactorOptions {
  std::size_t max_connections = 8192;         // accepted beyond this are closed at once
  std::size_t max_output_bytes = 256 * 1024;  // per connection, bytes of unsent replies
  int tick_ms = 10;                           // epoll_wait timeout: stop latency, listener check
};

// Counters, readable from any thread while the reactor runs.
struct ReactorStats {
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> closed{0};
  std::atomic<std::uint64_t> rejected{0};  // over max_connections
  std::atomic<std::uint64_t> frames_echoed{0};
  std::atomic<std::uint64_t> protocol_errors{0};  // a prefix of 0 or above kMaxFrameBytes
  std::atomic<std::uint64_t> resets{0};           // ECONNRESET / EPIPE / EPOLLERR on a connection
  std::atomic<std::uint64_t> accept_errors{0};    // accept4 failures other than EAGAIN
  // Connections accepted and closed at once because the process was out of fds (EMFILE).
  std::atomic<std::uint64_t> shed{0};
  // The listener's fd number no longer names a socket (EBADF): the listener was closed under it.
  std::atomic<std::uint64_t> listener_gone{0};
  // The listener's fd number names a socket that is not this listener (accept4 failed with
  // ENOTSOCK/EINVAL, or SO_ACCEPTCONN is 0, or the socket is bound to another port): the kernel
  // gave the number to a new socket and the reactor treated that socket as its listener.
  std::atomic<std::uint64_t> fd_reuse{0};
  FirstSeen first_fd_reuse;  // when the reactor's check first found another socket there

  // What a scenario reports: server_accepted, server_frames_echoed, server_listener_gone,
  // server_fd_reuse (no unit).
  faultline::Measures measures() const;
};

class Reactor {
 public:
  // Polls `listener_fd` for connections; the reactor does not own it (see own()). Throws
  // std::system_error when the epoll set cannot be built.
  Reactor(int listener_fd, ReactorOptions options = {});
  ~Reactor();  // stop(), then closes every connection
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // Makes the reactor the listener's owner: the socket now lives as long as the reactor.
  void own(std::unique_ptr<Listener> listener) { owned_listener_ = std::move(listener); }

  void start();  // runs the loop on a new thread
  void stop();   // wakes the loop, joins it; idempotent

  int listener_fd() const { return listener_fd_; }
  std::uint16_t port() const { return port_; }
  std::size_t open_connections() const { return open_.load(); }
  const ReactorStats& stats() const { return stats_; }

 private:
  struct Connection;

  void loop();
  void on_accept();
  void check_listener(int accept_errno);
  void shed_connection();
  void on_connection(int fd, std::uint32_t events);
  // Reads what the socket has (bounded by the input buffer), parses whole frames into replies.
  // Returns false when the connection must be closed.
  bool read_some(Connection& c);
  bool parse(Connection& c);
  bool flush(Connection& c);
  void update_interest(Connection& c);
  void close_connection(int fd);

  const int listener_fd_;  // a raw number: see the lifetime note at the top
  std::uint16_t port_ = 0;
  ino_t listener_inode_ = 0;   // identity of the listening socket when the reactor was built
  ino_t last_seen_inode_ = 0;  // what the number named at the last check (reactor thread)
  ReactorOptions options_;
  std::unique_ptr<Listener> owned_listener_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;              // eventfd: stop() writes it
  int reserve_fd_ = -1;           // /dev/null, given up to shed a connection when out of fds
  bool paused_listener_ = false;  // out of the epoll set until the end of this turn
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> open_{0};
  ReactorStats stats_;
  std::unordered_map<int, std::unique_ptr<Connection>> connections_;  // reactor thread only
  std::thread thread_;
};

}  // namespace faultline::epoll
