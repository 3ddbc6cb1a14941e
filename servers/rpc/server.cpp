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
#include <cstring>
#include <deque>
#include <future>
#include <iostream>

#include "servers/rpc/io_pool.h"

namespace faultline::rpc {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
}  // namespace

class Connection;

// A method's handler: a coroutine, or inline (exactly one is set).
struct Route {
  Handler handler;
  InlineHandler inline_handler;
};

struct Server::Impl {
  explicit Impl(ServerOptions o)
      : pool(o.threads, o.spin), options(std::move(o)), acceptor(pool.at(0)) {}

  // Declared first: destroyed last, after everything that holds one of its executors.
  IoPool pool;
  ServerOptions options;
  tcp::acceptor acceptor;               // on the pool's first io_context
  std::map<std::string, Route> routes;  // read-only once start() ran

  std::mutex conns_mu;
  std::vector<std::weak_ptr<Connection>> conns;

  std::atomic<std::uint64_t> accepted{0}, requests{0}, bad_frames{0}, peer_closed{0};
  std::atomic<std::uint64_t> refused{0}, stalled{0};
  std::atomic<std::size_t> open_connections{0};
  std::atomic<bool> started{false}, stopped{false};

  asio::awaitable<void> accept_loop();
};

// One accepted socket. Everything that touches it, its buffers or its timer runs on the thread of
// its io_context; the object lives as long as a coroutine or a write holds it.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, Server::Impl& server)
      : socket_(std::move(socket)), server_(server), frame_timer_(socket_.get_executor()) {
    ++server_.open_connections;
  }
  ~Connection() { --server_.open_connections; }

  static asio::awaitable<void> read_loop(std::shared_ptr<Connection> self);
  void close() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }
  tcp::socket::executor_type executor() { return socket_.get_executor(); }

 private:
  asio::awaitable<void> read_frames();
  // Serves every whole frame in the buffer; false once the connection must end (a bad frame).
  bool serve_buffered(SteadyClock::time_point received_at);
  void dispatch(Frame frame, SteadyClock::time_point received_at);
  // `self` keeps the connection alive until the reply is queued: the coroutine may start after
  // the reader ended.
  asio::awaitable<void> serve(std::shared_ptr<Connection> self, Frame frame, const Route& route,
                              SteadyClock::time_point received_at);
  // Arms the frame timer when a frame has begun and is not whole, and disarms it once none is.
  void watch_partial_frame();
  // Room for the next read: the unread bytes moved to the front, the buffer grown when full.
  void make_room();
  // Queues bytes; flush() writes what is queued, in order.
  void send(std::string_view bytes, bool close_after = false);
  void flush();
  void bad_frame(const FrameError& e);

  tcp::socket socket_;
  Server::Impl& server_;
  std::vector<std::uint8_t> in_;  // in_[begin_, end_) arrived and not yet served
  std::size_t begin_ = 0, end_ = 0;
  asio::steady_timer frame_timer_;            // armed while a frame is being read
  std::uint64_t frames_ = 0;                  // whole frames read so far
  std::optional<std::uint64_t> timed_frame_;  // the frame the timer is armed for
  bool stalled_ = false;
  std::string out_;      // replies queued, not yet handed to a write
  std::string writing_;  // the bytes of the asynchronous write in flight
  bool write_in_flight_ = false;
  bool close_after_drain_ = false;
};

namespace {
Frame bad_frame_reply(std::uint64_t id, Status status, std::string error) {
  return Frame{FrameKind::kResponse, id, {}, {}, {}, status, std::move(error), {}};
}
// The request a frame carries, its deadline taken from the timeout header (grpc-timeout).
Request to_request(Frame& frame, SteadyClock::time_point received_at) {
  Request req{frame.call_id,         std::move(frame.method),
              std::move(frame.body), std::move(frame.idempotency_key),
              received_at,           std::nullopt};
  if (frame.timeout) req.deadline = received_at + *frame.timeout;
  return req;
}
// The bytes of the response to call `id`; a reply too big for a frame becomes an error.
std::string response_bytes(std::uint64_t id, Reply reply) {
  try {
    return encode_frame(Frame{FrameKind::kResponse,
                              id,
                              {},
                              {},
                              {},
                              reply.status,
                              std::move(reply.error),
                              std::move(reply.body)});
  } catch (const FrameError& e) {
    return encode_frame(bad_frame_reply(id, Status::kError, e.what()));
  }
}
constexpr std::size_t kFirstBuffer = 4 * 1024;
constexpr std::size_t kChunk = 64 * 1024;
}  // namespace

asio::awaitable<void> Connection::read_loop(std::shared_ptr<Connection> self) {
  co_await self->read_frames();
}

asio::awaitable<void> Connection::read_frames() {
  in_.resize(kFirstBuffer);
  for (;;) {
    make_room();
    auto [ec, n] = co_await socket_.async_read_some(
        asio::buffer(in_.data() + end_, in_.size() - end_), kNoThrow);
    if (ec) {
      // EOF between frames is a normal goodbye; EOF or a reset mid-frame is a vanished peer:
      // either way this connection ends and the others keep being served.
      if (stalled_) {
        ++server_.stalled;
      } else if (ec != asio::error::operation_aborted) {
        ++server_.peer_closed;
      }
      frame_timer_.cancel();
      co_return;
    }
    end_ += n;
    const bool go_on = serve_buffered(SteadyClock::now());
    flush();
    if (!go_on) co_return;
    watch_partial_frame();
  }
}

bool Connection::serve_buffered(SteadyClock::time_point received_at) {
  while (end_ - begin_ >= kPrefixBytes) {
    std::uint32_t length = 0;
    Frame frame;
    try {
      // Never allocate what an oversized prefix asks for: answer and close.
      length = decode_prefix(
          std::span<const std::uint8_t, kPrefixBytes>(in_.data() + begin_, kPrefixBytes),
          server_.options.max_frame_bytes);
      if (end_ - begin_ < kPrefixBytes + length) return true;  // the rest is on its way
      frame = decode_payload({in_.data() + begin_ + kPrefixBytes, length});
      if (frame.kind != FrameKind::kRequest) {
        throw FrameError("a response frame sent to the server");
      }
    } catch (const FrameError& e) {
      bad_frame(e);
      return false;
    }
    begin_ += kPrefixBytes + length;
    ++frames_;
    dispatch(std::move(frame), received_at);
  }
  return true;
}

void Connection::bad_frame(const FrameError& e) {
  ++server_.bad_frames;
  send(encode_frame(bad_frame_reply(0, Status::kBadFrame, e.what())), /*close_after=*/true);
  frame_timer_.cancel();
}

void Connection::watch_partial_frame() {
  if (begin_ == end_) {
    if (timed_frame_) frame_timer_.cancel();
    timed_frame_.reset();
    return;
  }
  if (timed_frame_ == frames_) return;  // armed for this frame already
  // The timer's handler runs on this thread; a frame that was whole in time is not closed.
  timed_frame_ = frames_;
  frame_timer_.expires_after(server_.options.frame_read_timeout);
  frame_timer_.async_wait(
      [this, self = shared_from_this(), frame = frames_](boost::system::error_code ec) {
        if (ec || frame != frames_ || begin_ == end_) return;  // cancelled, or whole in time
        stalled_ = true;
        close();
      });
}

void Connection::make_room() {
  if (begin_ == end_) {
    begin_ = end_ = 0;
    // A big frame's buffer is not kept once it was served.
    if (in_.size() > kChunk) {
      in_.resize(kFirstBuffer);
      in_.shrink_to_fit();
    }
  } else if (begin_ > 0 && end_ == in_.size()) {
    std::memmove(in_.data(), in_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  // Memory follows what arrived: the buffer grows by at most a chunk at a time.
  if (end_ == in_.size()) in_.resize(in_.size() + std::min(kChunk, in_.size()));
}

void Connection::dispatch(Frame frame, SteadyClock::time_point received_at) {
  ++server_.requests;
  auto it = server_.routes.find(frame.method);
  if (it == server_.routes.end()) {
    send(encode_frame(bad_frame_reply(frame.call_id, Status::kUnknownMethod,
                                      fmt::format("unknown method '{}'", frame.method))));
    return;
  }
  if (!it->second.inline_handler) {
    // Its own coroutine on this thread, so a slow handler does not hold up the next request.
    asio::co_spawn(socket_.get_executor(),
                   serve(shared_from_this(), std::move(frame), it->second, received_at),
                   asio::detached);
    return;
  }
  const Request req = to_request(frame, received_at);
  Reply reply;
  try {
    reply = it->second.inline_handler(req);
  } catch (const std::exception& e) {
    reply = {Status::kError, fmt::format("handler failed: {}", e.what()), {}};
  }
  send(response_bytes(req.call_id, std::move(reply)));
}

asio::awaitable<void> Connection::serve(std::shared_ptr<Connection> self, Frame frame,
                                        const Route& route, SteadyClock::time_point received_at) {
  [[maybe_unused]] const auto keep = std::move(self);
  const Request req = to_request(frame, received_at);
  Reply reply;
  try {
    reply = co_await route.handler(req);
  } catch (const std::exception& e) {
    reply = {Status::kError, fmt::format("handler failed: {}", e.what()), {}};
  }
  send(response_bytes(req.call_id, std::move(reply)));
  flush();
}

void Connection::send(std::string_view bytes, bool close_after) {
  if (close_after_drain_) return;  // the connection is going away: nothing more goes out
  close_after_drain_ = close_after;
  out_.append(bytes);
}

void Connection::flush() {
  if (write_in_flight_ || out_.empty()) return;
  // The socket is non-blocking: what it takes now goes out without a trip through the reactor.
  boost::system::error_code ec;
  const std::size_t n = socket_.write_some(asio::buffer(out_), ec);
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
    out_.clear();
    close();
    return;
  }
  if (!ec && n == out_.size()) {
    out_.clear();
    if (close_after_drain_) close();
    return;
  }
  writing_.assign(out_, ec ? 0 : n);
  out_.clear();
  write_in_flight_ = true;
  asio::async_write(socket_, asio::buffer(writing_),
                    [this, self = shared_from_this()](boost::system::error_code wec, std::size_t) {
                      write_in_flight_ = false;
                      writing_.clear();
                      if (wec) {
                        out_.clear();
                        close();
                        return;
                      }
                      if (!out_.empty()) {
                        flush();
                      } else if (close_after_drain_) {
                        close();
                      }
                    });
}

asio::awaitable<void> Server::Impl::accept_loop() {
  std::uint64_t since_prune = 0;
  while (!stopped) {
    // Each accepted socket lives on the next io_context in turn.
    auto [ec, socket] = co_await acceptor.async_accept(pool.next(), kNoThrow);
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
    socket.non_blocking(true, ec);
    auto conn = std::make_shared<Connection>(std::move(socket), *this);
    {
      std::lock_guard lock(conns_mu);
      if (++since_prune >= 256) {
        std::erase_if(conns, [](const auto& w) { return w.expired(); });
        since_prune = 0;
      }
      conns.push_back(conn);
    }
    // The coroutine holds its connection: it may start on another thread after this one moved on.
    asio::co_spawn(conn->executor(), Connection::read_loop(conn), asio::detached);
  }
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() {
  stop();
}

void Server::handle(std::string method, Handler handler) {
  if (impl_->started) throw std::logic_error("Server::handle after start()");
  impl_->routes[std::move(method)] = Route{std::move(handler), nullptr};
}

void Server::handle_inline(std::string method, InlineHandler handler) {
  if (impl_->started) throw std::logic_error("Server::handle_inline after start()");
  impl_->routes[std::move(method)] = Route{nullptr, std::move(handler)};
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
  impl_->pool.start("faultline rpc server");
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
  impl_->pool.stop();
}

ServerStats Server::stats() const {
  return {impl_->accepted.load(),    impl_->requests.load(), impl_->bad_frames.load(),
          impl_->peer_closed.load(), impl_->refused.load(),  impl_->stalled.load()};
}

}  // namespace faultline::rpc
