// The RPC server: Boost.Asio, one io_context per thread, one coroutine per connection.
//
// Threads: each of the `threads` threads runs an io_context of its own; the acceptor lives on the
// first, and each accepted connection goes to the next io_context in turn and stays there, so a
// connection's socket, its reader coroutine, every handler it runs and its writes are only ever
// touched from that one thread, and nothing a connection posts wakes another thread. Handlers of
// one connection run concurrently with each other (interleaved at co_await points), like Go's
// net/rpc ServeConn.
//
// Reading and writing: the reader takes whatever bytes have arrived (up to a chunk) and serves
// every whole frame among them; the replies that inline handlers give meanwhile are written
// together, at once if the socket takes them, else by an asynchronous write.
//
// Lifetimes: a Connection is owned by the coroutines that run on it (shared_ptr); the Server
// keeps weak references to close live connections on stop(). stop() (or the destructor) closes
// the acceptor and every connection, stops the io_context and joins the threads.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "servers/rpc/frame.h"

namespace faultline::rpc {

using SteadyClock = std::chrono::steady_clock;

struct Request {
  std::uint64_t call_id = 0;
  std::string method;
  std::string body;
  std::optional<std::string> idempotency_key;
  SteadyClock::time_point received_at;
  // received_at + the timeout the client sent (grpc-timeout semantics); empty without one.
  std::optional<SteadyClock::time_point> deadline;
};

struct Reply {
  Status status = Status::kOk;
  std::string error;
  std::string body;
};

// A handler runs on its connection's thread; `co_await this_coro::executor` is that thread's
// io_context. Each request gets a coroutine of its own, so a handler may wait (a timer, I/O).
using Handler = std::function<boost::asio::awaitable<Reply>(const Request&)>;
// An inline handler runs inside its connection's reader, on the same thread, and must neither
// block nor wait: it answers at once (Arith.Divide). No coroutine is made for it, and the replies
// to the requests of one read go out in one write.
using InlineHandler = std::function<Reply(const Request&)>;

struct ServerOptions {
  std::string address = "127.0.0.1";  // loopback only: nothing here targets another address
  std::uint16_t port = 0;             // 0: the kernel picks; port() says which
  int threads = 2;
  std::uint32_t max_frame_bytes = kMaxFrameBytes;
  // Memory is spent on what a peer sends, never on what its length prefix promises: a payload
  // is read in chunks as it arrives. A frame begun must be whole within frame_read_timeout, or
  // the connection is closed; connections beyond max_connections are closed on accept.
  std::size_t max_connections = 4096;
  std::chrono::milliseconds frame_read_timeout{10'000};
  // How long an io thread that just had work polls for more before it blocks (io_pool.h).
  std::chrono::microseconds spin{20};
};

struct ServerStats {
  std::uint64_t accepted = 0;
  std::uint64_t requests = 0;
  std::uint64_t bad_frames = 0;   // malformed or oversized: answered BAD_FRAME and closed
  std::uint64_t peer_closed = 0;  // peers that went away (EOF or reset, between or mid-frame)
  std::uint64_t refused = 0;      // connections closed on accept: max_connections were open
  std::uint64_t stalled = 0;      // closed because a frame was not whole in frame_read_timeout
};

class Server {
 public:
  explicit Server(ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Register before start(); a request for an unknown method gets UNKNOWN_METHOD.
  void handle(std::string method, Handler handler);
  void handle_inline(std::string method, InlineHandler handler);

  // Binds, listens and starts the threads. Throws boost::system::system_error if binding fails.
  void start();
  std::uint16_t port() const { return port_; }
  // Idempotent; safe from any thread but the server's own.
  void stop();
  ServerStats stats() const;

  struct Impl;  // public so that the connection code can name it; not part of the API

 private:
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

}  // namespace faultline::rpc
