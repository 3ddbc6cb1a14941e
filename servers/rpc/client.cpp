#include "servers/rpc/client.h"

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
#include <vector>

#include "harness/probe/perturb.h"
#include "servers/rpc/write_queue.h"

namespace faultline::rpc {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
}  // namespace

bool Call::wait_until(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return cv_.wait_until(lock, deadline, [this] { return done_; });
}

bool Call::done() const {
  std::lock_guard lock(mu_);
  return done_;
}

CallResult Call::result() const {
  std::lock_guard lock(mu_);
  return result_;
}

void Call::complete(CallResult result) {
  {
    std::lock_guard lock(mu_);
    if (done_) return;
    done_ = true;
    result_ = result;
  }
  cv_.notify_all();
  if (on_done_) on_done_(result);
}

struct Client::Impl : std::enable_shared_from_this<Client::Impl> {
  explicit Impl(asio::io_context& context) : io(context), socket(asio::make_strand(context)) {}

  asio::io_context& io;
  tcp::socket socket;  // executor: the connection's strand

  // Guards pending, next_id and shut_down; the reader takes a call out under it before decoding.
  mutable std::mutex mu;
  std::map<std::uint64_t, std::shared_ptr<Call>> pending;
  std::uint64_t next_id = 1;
  bool shut_down = false;

  // Strand only. A failed write closes the socket: the reader sees it and fails the pending calls.
  WriteQueue<tcp::socket> out{socket, nullptr, [this] { close_socket(); }};

  std::atomic<std::uint64_t> replies{0}, late_dropped{0}, bad_replies{0};

  asio::awaitable<void> read_loop();
  void send(std::string bytes);
  void close_socket() {
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }
  std::shared_ptr<Call> start(std::string_view method, std::string body, Decoder decoder,
                              const CallOptions& options,
                              std::function<void(const CallResult&)> on_done);
  bool forget(const Call& call) {
    std::lock_guard lock(mu);
    auto it = pending.find(call.id());
    if (it == pending.end() || it->second.get() != &call) return false;
    pending.erase(it);
    return true;
  }
  void fail_all(const std::string& why) {
    std::map<std::uint64_t, std::shared_ptr<Call>> calls;
    {
      std::lock_guard lock(mu);
      shut_down = true;
      calls.swap(pending);
    }
    for (auto& [id, call] : calls) call->complete({CallOutcome::kClosed, Status::kOk, why});
  }
};

asio::awaitable<void> Client::Impl::read_loop() {
  auto self = shared_from_this();
  std::array<std::uint8_t, kPrefixBytes> prefix{};
  std::vector<std::uint8_t> payload;
  std::string why = "connection closed";
  for (;;) {
    auto [ec, n] = co_await asio::async_read(socket, asio::buffer(prefix), kNoThrow);
    if (ec) {
      why = fmt::format("connection closed: {}", ec.message());
      break;
    }
    Frame frame;
    try {
      payload.resize(decode_prefix(prefix));
      auto [ec2, n2] = co_await asio::async_read(socket, asio::buffer(payload), kNoThrow);
      if (ec2) {
        why = fmt::format("connection closed mid-frame: {}", ec2.message());
        break;
      }
      frame = decode_payload(payload);
      if (frame.kind != FrameKind::kResponse) throw FrameError("a request frame sent to a client");
    } catch (const FrameError& e) {
      why = fmt::format("bad frame from the server: {}", e.what());
      break;
    }
    ++replies;
    // As Go's client.input: take the call out of the pending map under the lock, then decode
    // into its reply outside the lock.
    std::shared_ptr<Call> call;
    {
      std::lock_guard lock(mu);
      if (auto it = pending.find(frame.call_id); it != pending.end()) {
        call = std::move(it->second);
        pending.erase(it);
      }
    }
    if (!call) {
      ++late_dropped;  // forgotten (timed out) or never sent: the body is dropped undecoded
      continue;
    }
    // The call is the reader's now; its caller may time out and read the reply meanwhile.
    FAULTLINE_PERTURB("rpc.client.reader.before-decode");
    CallResult result{CallOutcome::kReplied, frame.status, std::move(frame.error)};
    if (frame.status == Status::kOk && call->decoder_) {
      try {
        call->decoder_(frame.body);
      } catch (const std::exception& e) {
        ++bad_replies;
        result.status = Status::kBadRequest;
        result.error = fmt::format("reading body: {}", e.what());
      }
    }
    call->complete(std::move(result));
  }
  close_socket();
  fail_all(why);
}

void Client::Impl::send(std::string bytes) {
  asio::post(socket.get_executor(), [self = shared_from_this(), b = std::move(bytes)]() mutable {
    self->out.send(std::move(b), self);
  });
}

std::shared_ptr<Call> Client::Impl::start(std::string_view method, std::string body,
                                          Decoder decoder, const CallOptions& options,
                                          std::function<void(const CallResult&)> on_done) {
  std::shared_ptr<Call> call;
  bool closed = false;
  {
    std::lock_guard lock(mu);
    call = std::make_shared<Call>(next_id++, std::move(decoder));
    // on_done is set before the call becomes visible to the reader (the insert below).
    call->on_done_ = std::move(on_done);
    closed = shut_down;
    if (!closed) pending.emplace(call->id(), call);
  }
  if (closed) {
    call->complete({CallOutcome::kClosed, Status::kOk, "connection is shut down"});
    return call;
  }
  Frame frame;
  frame.kind = FrameKind::kRequest;
  frame.call_id = call->id();
  frame.method = std::string(method);
  frame.timeout = options.timeout;
  frame.idempotency_key = options.idempotency_key;
  frame.body = std::move(body);
  std::string bytes;
  try {
    bytes = encode_frame(frame);
  } catch (const FrameError& e) {
    if (forget(*call)) call->complete({CallOutcome::kReplied, Status::kBadRequest, e.what()});
    return call;
  }
  send(std::move(bytes));
  return call;
}

std::shared_ptr<Client> Client::dial(asio::io_context& io, std::uint16_t port) {
  auto impl = std::make_shared<Impl>(io);
  // Nothing else knows the socket yet: connecting from the caller's thread is safe.
  impl->socket.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
  impl->socket.set_option(tcp::no_delay(true));
  asio::co_spawn(impl->socket.get_executor(), impl->read_loop(), asio::detached);
  return std::shared_ptr<Client>(new Client(std::move(impl)));
}

Client::~Client() {
  close();
}

std::shared_ptr<Call> Client::go(std::string_view method, std::string body, Decoder decoder,
                                 CallOptions options,
                                 std::function<void(const CallResult&)> on_done) {
  return impl_->start(method, std::move(body), std::move(decoder), options, std::move(on_done));
}

bool Client::forget(const Call& call) {
  return impl_->forget(call);
}

void Client::async_call(std::string_view method, std::string body, Decoder decoder,
                        CallOptions options, std::chrono::steady_clock::duration timeout,
                        std::function<void(const CallResult&)> done) {
  // The timer gets a strand of its own and is only ever touched by handlers on that strand: the
  // arming below and the cancel a response triggers are both posted there, in whichever order
  // they happen to run (`completed` makes a cancel that wins the race stick).
  struct TimerState {
    explicit TimerState(asio::io_context& io) : timer(asio::make_strand(io)) {}
    asio::steady_timer timer;
    bool completed = false;  // strand only
  };
  auto state = std::make_shared<TimerState>(impl_->io);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto on_done = [state, done = std::move(done)](const CallResult& result) {
    if (result.outcome != CallOutcome::kTimedOut) {
      asio::post(state->timer.get_executor(), [state] {
        state->completed = true;
        state->timer.cancel();
      });
    }
    done(result);
  };
  auto call = impl_->start(method, std::move(body), std::move(decoder), options, on_done);
  asio::post(
      state->timer.get_executor(), [state, call, deadline, weak_impl = std::weak_ptr<Impl>(impl_)] {
        if (state->completed) return;
        state->timer.expires_at(deadline);
        state->timer.async_wait([state, call, weak_impl](boost::system::error_code ec) {
          if (ec) return;  // cancelled: a response (or the close) completed the call
          auto impl = weak_impl.lock();
          // Whoever removes the call from the pending map completes it: here the timeout, and a
          // response that still arrives is dropped by the reader.
          if (impl && impl->forget(*call)) {
            call->complete({CallOutcome::kTimedOut, Status::kDeadlineExceeded, "call timed out"});
          }
        });
      });
}

CallResult Client::call(std::string_view method, std::string body, Decoder decoder,
                        CallOptions options, std::chrono::steady_clock::duration timeout) {
  auto promise = std::make_shared<std::promise<CallResult>>();
  auto future = promise->get_future();
  async_call(method, std::move(body), std::move(decoder), std::move(options), timeout,
             [promise](const CallResult& r) { promise->set_value(r); });
  return future.get();
}

void Client::close() {
  asio::post(impl_->socket.get_executor(), [impl = impl_] { impl->close_socket(); });
}

void Client::close_graceful() {
  asio::post(impl_->socket.get_executor(), [impl = impl_] {
    boost::system::error_code ignored;
    impl->socket.shutdown(tcp::socket::shutdown_send, ignored);
  });
}

std::size_t Client::pending() const {
  std::lock_guard lock(impl_->mu);
  return impl_->pending.size();
}

ClientStats Client::stats() const {
  return {impl_->replies.load(), impl_->late_dropped.load(), impl_->bad_replies.load()};
}

}  // namespace faultline::rpc
