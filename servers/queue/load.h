// A load on the write-queue server (queue_server.h): the server on its io threads, one slow
// blocking client per connection, and a publisher that posts frames to every session in bursts
// while the earlier ones are still being written. Load<Queue> runs it to the end and returns
// what the server and the clients counted.
//
// The clients dial whatever the caller's route says (the server itself, or a fault proxy in
// front of it) and learn from it the port the server sees as their peer, which names their
// connection in the frames.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "harness/probe/first_seen.h"
#include "harness/probe/histogram.h"
#include "harness/probe/measure.h"
#include "harness/probe/resource_tally.h"
#include "servers/queue/frame.h"
#include "servers/queue/queue_server.h"

namespace faultline::queue {

// The load's knobs, in the order of the scenario's parameters (it may fill them positionally).
struct LoadOptions {
  std::size_t connections = 4;  // client connections, one thread each
  std::size_t frames = 2000;    // frames sent on each connection
  std::size_t frame_bytes = 15;
  std::size_t burst = 32;  // frames the publisher posts per connection at once
  std::chrono::microseconds burst_gap{200};
  std::size_t io_threads = 2;
  int sndbuf_bytes = 4096;                            // SO_SNDBUF of the server's sockets
  int rcvbuf_bytes = 4096;                            // SO_RCVBUF of the clients' sockets
  std::chrono::milliseconds client_stall{50};         // before a client's first read
  std::chrono::microseconds client_read_delay{2000};  // after each read of up to 16 frames
  std::chrono::milliseconds time_limit{8000};         // publisher and clients give up after this
  std::uint64_t seed = 1;                             // the frames' payload
  // Names failed accepts and sockets in the run's resource tally: "accept (<name>)",
  // "socket (<name> client)".
  std::string name = "queue";
};

// LoadOptions field by field, in their order (a call, so that a caller can pass them on a few
// lines).
inline LoadOptions load_options(
    std::size_t connections, std::size_t frames, std::size_t frame_bytes, std::size_t burst,
    std::chrono::microseconds burst_gap, std::size_t io_threads, int sndbuf_bytes, int rcvbuf_bytes,
    std::chrono::milliseconds client_stall, std::chrono::microseconds client_read_delay,
    std::chrono::milliseconds time_limit, std::uint64_t seed, std::string name) {
  return {connections, frames,       frame_bytes,    burst,        burst_gap,
          io_threads,  sndbuf_bytes, rcvbuf_bytes,   client_stall, client_read_delay,
          time_limit,  seed,         std::move(name)};
}

// Where the clients dial, and the server-side peer port of a client's connection given the
// client's local port (the same port when nothing is in between; std::nullopt: unknown, the
// client gives up).
struct Dial {
  std::uint16_t port = 0;
  std::function<std::optional<std::uint16_t>(std::uint16_t)> server_side_port;
};

struct ClientResult {
  std::uint64_t frames_ok = 0;
  std::uint64_t frames_corrupt = 0;
  std::optional<Clock::time_point> first_corrupt;  // when the client's check first failed
  std::uint64_t bytes = 0;
  bool connected = false;
  bool complete = false;
  faultline::LatencyHistogram frame_gap;  // time between consecutive frames, ns
};

// One slow consumer: a plain blocking socket with a receive timeout, so every read ends by the
// deadline. Reads and checks `o.frames` frames, sleeping after each read.
void run_client(const Dial& dial, const LoadOptions& o, Clock::time_point deadline,
                ClientResult& out);

struct LoadResult {
  std::size_t connected = 0;
  std::size_t complete = 0;  // connections that read every frame
  std::uint64_t posted = 0;
  std::uint64_t frames_ok = 0;
  std::uint64_t frames_corrupt = 0;
  std::optional<Clock::time_point> first_corrupt;  // the earliest client's first failed check
  std::uint64_t bytes = 0;
  std::uint64_t front_moved_during_write = 0;
  std::uint64_t pushes_during_write = 0;
  faultline::LatencyHistogram frame_gap;  // ns, every connection's

  // The corrupt_frame observation's detail.
  std::string corrupt_detail() const {
    return fmt::format(
        "{} of {} frames failed the checksum or sequence check; the frame being written moved {} "
        "times mid-write",
        frames_corrupt, frames_ok + frames_corrupt, front_moved_during_write);
  }
  faultline::Measures measures() const {
    return {{"connections", connected, "connections"},
            {"connections_complete", complete, "connections"},
            {"frames_posted", posted, "frames"},
            {"frames_ok", frames_ok, "frames"},
            {"front_moved_during_write", front_moved_during_write, "events"},
            {"pushes_during_write", pushes_during_write, "frames"}};
  }
};

// One run of the load, in the order a caller reports it: the constructor makes the server
// listen (port()), start() has it accept on its io threads, and run() starts the clients that
// dial `dial`, publishes every frame, stops everything and returns the counts. The deadline
// (time_limit) runs from the constructor.
template <class Queue>
class Load {
 public:
  explicit Load(const LoadOptions& options)
      : o_(options),
        deadline_(Clock::now() + options.time_limit),
        work_(asio::make_work_guard(io_)),
        server_(io_, options.sndbuf_bytes, options.name),
        port_(server_.port()) {}

  unsigned short port() const { return port_; }

  void start() {
    server_.start();
    for (std::size_t i = 0; i < o_.io_threads; ++i) {
      if (!faultline::start_thread(io_pool_, [this] { io_.run(); })) break;
    }
  }

  LoadResult run(const Dial& dial) {
    LoadResult r;
    std::vector<ClientResult> results(o_.connections);
    std::vector<std::thread> clients;
    for (std::size_t c = 0; c < o_.connections; ++c) {
      if (!faultline::start_thread(clients,
                                   [&, c] { run_client(dial, o_, deadline_, results[c]); })) {
        break;
      }
    }

    // The publisher: the application's event source, posting frames to each connection's
    // strand in bursts while that connection's earlier frames are still being written.
    const auto sessions = server_.wait_sessions(o_.connections, deadline_);
    for (std::size_t next = 0; next < o_.frames && Clock::now() < deadline_; next += o_.burst) {
      for (std::size_t c = 0; c < sessions.size(); ++c) {
        for (std::size_t f = next; f < std::min(o_.frames, next + o_.burst); ++f) {
          auto frame = make_frame(o_.frame_bytes, static_cast<std::uint32_t>(f),
                                  sessions[c]->peer_port(), o_.seed);
          asio::post(sessions[c]->executor(), [s = sessions[c], fr = std::move(frame)]() mutable {
            s->deliver(std::move(fr));
          });
          ++r.posted;
        }
      }
      if (o_.burst_gap.count() > 0) std::this_thread::sleep_for(o_.burst_gap);
    }

    for (auto& t : clients) t.join();
    server_.stop();
    work_.reset();
    for (auto& t : io_pool_) t.join();

    for (const auto& c : results) {
      r.frames_ok += c.frames_ok;
      r.frames_corrupt += c.frames_corrupt;
      r.first_corrupt = earliest(r.first_corrupt, c.first_corrupt);
      r.bytes += c.bytes;
      r.frame_gap.merge(c.frame_gap);
      r.complete += c.complete ? 1 : 0;
      r.connected += c.connected ? 1 : 0;
    }
    for (const auto& s : sessions) {
      r.front_moved_during_write += s->front_moved_during_write();
      r.pushes_during_write += s->pushes_during_write();
    }
    return r;
  }

 private:
  const LoadOptions o_;
  const Clock::time_point deadline_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  Server<Queue> server_;
  const unsigned short port_;
  // Joined by run(); like any std::thread, destroyed while running they end the process.
  std::vector<std::thread> io_pool_;
};

}  // namespace faultline::queue
