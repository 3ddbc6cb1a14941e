#include "servers/rpc/server.h"

#include <fmt/format.h>

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <future>
#include <iostream>

#include "servers/rpc/write_queue.h"

namespace faultline::rpc {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
}  // namespace

class Connection;

struct Server::Impl {
  explicit Impl(ServerOptions o) : options(std::move(o)), acceptor(asio::make_strand(io)) {}

  // Declared first: destroyed last, after everything that holds one of its executors.
  asio::io_context io;
  ServerOptions options;
  tcp::acceptor acceptor;                   // on its own strand
  std::map<std::string, Handler> handlers;  // read-only once start() ran
  std::vector<std::thread> threads;

  std::mutex conns_mu;
  std::vector<std::weak_ptr<Connection>> conns;

  std::atomic<std::uint64_t> accepted{0}, requests{0}, bad_frames{0}, peer_closed{0};
  std::atomic<std::uint64_t> refused{0}, stalled{0};
  std::atomic<std::size_t> open_connections{0};
  std::atomic<bool> started{false}, stopped{false};

  asio::awaitable<void> accept_loop();
};

// One accepted socket. Everything that touches socket_ or out_ runs on the socket's
// strand (its executor); the object lives as long as a coroutine or a queued write holds it.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, Server::Impl& server)
      : socket_(std::move(socket)),
        server_(server),
        frame_timer_(socket_.get_executor()),
        out_(
            socket_,
            [this] {
              if (close_after_drain_) close();
            },
            [this] { close(); }) {
    ++server_.open_connections;
  }
  ~Connection() { --server_.open_connections; }

  asio::awaitable<void> read_loop();
  void close() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }
  tcp::socket::executor_type executor() { return socket_.get_executor(); }

 private:
  asio::awaitable<void> serve(Frame frame, SteadyClock::time_point received_at);
  // Reads `length` payload bytes in chunks, so memory follows what arrives; false if the peer
  // went away or the frame was not whole in time.
  asio::awaitable<bool> read_payload(std::uint32_t length, std::vector<std::uint8_t>& payload);
  // Queues bytes; writes go out one at a time, in order. Runs on the strand.
  void send(std::string bytes, bool close_after = false);

  tcp::socket socket_;
  Server::Impl& server_;
  asio::steady_timer frame_timer_;  // armed while a frame is being read
  std::uint64_t frame_number_ = 0;
  bool stalled_ = false;
  bool close_after_drain_ = false;
  WriteQueue<tcp::socket> out_;
};

asio::awaitable<void> Connection::read_loop() {
  auto self = shared_from_this();
  std::array<std::uint8_t, kPrefixBytes> prefix{};
  std::vector<std::uint8_t> payload;
  for (;;) {
    auto [ec, n] = co_await asio::async_read(socket_, asio::buffer(prefix), kNoThrow);
    if (ec) {
      // EOF between frames is a normal goodbye; EOF or a reset mid-frame is a vanished peer:
      // either way this connection ends and the others keep being served.
      if (ec != asio::error::operation_aborted) ++server_.peer_closed;
      co_return;
    }
    std::uint32_t length = 0;
    try {
      length = decode_prefix(prefix, server_.options.max_frame_bytes);
    } catch (const FrameError& e) {
      // Never allocate what an oversized prefix asks for: answer and close.
      ++server_.bad_frames;
      send(
          encode_frame(Frame{FrameKind::kResponse, 0, {}, {}, {}, Status::kBadFrame, e.what(), {}}),
          /*close_after=*/true);
      co_return;
    }
    if (!co_await read_payload(length, payload)) co_return;
    auto received_at = SteadyClock::now();
    Frame frame;
    try {
      frame = decode_payload(payload);
      if (frame.kind != FrameKind::kRequest)
        throw FrameError("a response frame sent to the server");
    } catch (const FrameError& e) {
      ++server_.bad_frames;
      send(
          encode_frame(Frame{FrameKind::kResponse, 0, {}, {}, {}, Status::kBadFrame, e.what(), {}}),
          /*close_after=*/true);
      co_return;
    }
    ++server_.requests;
    // Each request gets its own coroutine on this strand, so a slow handler does not hold up the
    // next request of the same connection.
    asio::co_spawn(socket_.get_executor(), serve(std::move(frame), received_at), asio::detached);
  }
}

asio::awaitable<bool> Connection::read_payload(std::uint32_t length,
                                               std::vector<std::uint8_t>& payload) {
  constexpr std::size_t kChunk = 64 * 1024;
  // The timer's handler runs on this strand; a frame it no longer belongs to is ignored.
  const std::uint64_t frame = ++frame_number_;
  stalled_ = false;
  frame_timer_.expires_after(server_.options.frame_read_timeout);
  frame_timer_.async_wait([this, self = shared_from_this(), frame](boost::system::error_code ec) {
    if (ec || frame != frame_number_) return;  // cancelled, or a later frame: whole in time
    stalled_ = true;
    close();
  });
  payload.clear();
  bool ok = true;
  while (ok && payload.size() < length) {
    const std::size_t have = payload.size();
    const std::size_t want = std::min<std::size_t>(kChunk, length - have);
    payload.resize(have + want);
    auto [ec, n] =
        co_await asio::async_read(socket_, asio::buffer(payload.data() + have, want), kNoThrow);
    if (ec) {
      if (stalled_) {
        ++server_.stalled;
      } else if (ec != asio::error::operation_aborted) {
        ++server_.peer_closed;
      }
      ok = false;
    }
  }
  ++frame_number_;  // what the timer may still deliver belongs to no frame now
  frame_timer_.cancel();
  co_return ok;
}

asio::awaitable<void> Connection::serve(Frame frame, SteadyClock::time_point received_at) {
  auto self = shared_from_this();
  Request req{frame.call_id,         std::move(frame.method),
              std::move(frame.body), std::move(frame.idempotency_key),
              received_at,           std::nullopt};
  if (frame.timeout) req.deadline = received_at + *frame.timeout;
  Reply reply;
  auto it = server_.handlers.find(req.method);
  if (it == server_.handlers.end()) {
    reply = {Status::kUnknownMethod, fmt::format("unknown method '{}'", req.method), {}};
  } else {
    try {
      reply = co_await it->second(req);
    } catch (const std::exception& e) {
      reply = {Status::kError, fmt::format("handler failed: {}", e.what()), {}};
    }
  }
  Frame response{FrameKind::kResponse,   req.call_id,          {}, {}, {}, reply.status,
                 std::move(reply.error), std::move(reply.body)};
  std::string bytes;
  try {
    bytes = encode_frame(response);
  } catch (const FrameError& e) {
    bytes = encode_frame(
        Frame{FrameKind::kResponse, req.call_id, {}, {}, {}, Status::kError, e.what(), {}});
  }
  send(std::move(bytes));
}

void Connection::send(std::string bytes, bool close_after) {
  if (close_after_drain_) return;  // the connection is going away: nothing more goes out
  close_after_drain_ = close_after;
  out_.send(std::move(bytes), shared_from_this());
}

asio::awaitable<void> Server::Impl::accept_loop() {
  std::uint64_t since_prune = 0;
  while (!stopped) {
    // Each accepted socket gets a fresh strand of the io_context as its executor.
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(io), kNoThrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      // Out of descriptors or a transient failure: pause briefly instead of spinning.
      asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(5));
      co_await pause.async_wait(kNoThrow);
      continue;
    }
    ++accepted;
    if (open_connections.load() >= options.max_connections) {
      ++refused;  // a bound on what peers can make the server hold
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto conn = std::make_shared<Connection>(std::move(socket), *this);
    {
      std::lock_guard lock(conns_mu);
      if (++since_prune >= 256) {
        std::erase_if(conns, [](const auto& w) { return w.expired(); });
        since_prune = 0;
      }
      conns.push_back(conn);
    }
    asio::co_spawn(conn->executor(), conn->read_loop(), asio::detached);
  }
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() {
  stop();
}

void Server::handle(std::string method, Handler handler) {
  if (impl_->started) throw std::logic_error("Server::handle after start()");
  impl_->handlers[std::move(method)] = std::move(handler);
}

void Server::start() {
  if (impl_->started.exchange(true)) throw std::logic_error("Server::start called twice");
  tcp::endpoint endpoint(asio::ip::make_address(impl_->options.address), impl_->options.port);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  port_ = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->acceptor.get_executor(), impl_->accept_loop(), asio::detached);
  int n = std::max(1, impl_->options.threads);
  for (int i = 0; i < n; ++i) {
    impl_->threads.emplace_back([impl = impl_.get()] {
      try {
        impl->io.run();
      } catch (const std::exception& e) {
        std::cerr << "faultline rpc server: worker thread ended: " << e.what() << '\n';
      }
    });
  }
}

void Server::stop() {
  if (!impl_->started || impl_->stopped.exchange(true)) return;
  // The acceptor and each socket are closed on their own strands, never from this thread; the
  // acceptor's close is waited for, so no accept completes after stop() returns.
  auto acceptor_closed = std::make_shared<std::promise<void>>();
  auto closed = acceptor_closed->get_future();
  asio::post(impl_->acceptor.get_executor(), [impl = impl_.get(), acceptor_closed] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
    acceptor_closed->set_value();
  });
  closed.wait_for(std::chrono::seconds(1));
  {
    std::lock_guard lock(impl_->conns_mu);
    for (auto& weak : impl_->conns) {
      if (auto conn = weak.lock()) asio::post(conn->executor(), [conn] { conn->close(); });
    }
    impl_->conns.clear();
  }
  // Handlers still sleeping (a slow Ledger.Append) would keep run() busy: give the closes a
  // moment to land, then stop the loop. Pending coroutines are destroyed with the io_context.
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  impl_->io.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

ServerStats Server::stats() const {
  return {impl_->accepted.load(),    impl_->requests.load(), impl_->bad_frames.load(),
          impl_->peer_closed.load(), impl_->refused.load(),  impl_->stalled.load()};
}

}  // namespace faultline::rpc
