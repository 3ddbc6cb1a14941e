// The RPC client, shaped like Go's net/rpc client: one connection, one reader per connection that
// decodes each response into the reply of the call it answers, and Go()-style calls that return a
// handle the caller waits on.
//
// Who owns what: a Call is shared by the caller and the client. While the call is pending (in the
// client's map), the reader may take it: the reader removes it under the client's lock, runs its
// decoder on the response body, then completes it. forget() removes a pending call under the same
// lock, so after forget() returned true the reader never touches that call. The decoder writes
// wherever the caller pointed it: into memory the call owns (safe) or into the caller's own
// object (Go's net/rpc API, and the root of rpc-timeout-race).
//
// Threads and strands: the socket, the reader and the write queue run on the connection's strand;
// each async_call() timer runs on a strand of its own, and is cancelled by a handler posted to
// that strand.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "servers/rpc/frame.h"

namespace faultline::rpc {

// Runs on the connection's reader with the body of an OK response; throws to reject the body.
using Decoder = std::function<void(const std::string& body)>;

struct CallOptions {
  std::optional<std::chrono::microseconds> timeout;  // sent as the request's deadline header
  std::optional<std::string> idempotency_key;
};

enum class CallOutcome {
  kReplied,   // a response arrived: see status
  kTimedOut,  // the per-call timeout fired first; a later response is dropped
  kClosed,    // the connection ended before a response arrived
};

struct CallResult {
  CallOutcome outcome = CallOutcome::kClosed;
  Status status = Status::kOk;
  std::string error;
};

class Call {
 public:
  explicit Call(std::uint64_t id, Decoder decoder) : id_(id), decoder_(std::move(decoder)) {}
  std::uint64_t id() const { return id_; }
  // Waits for completion (Go's <-call.Done) until `deadline`; true once completed. Completion
  // happens-before a true return, so the caller may then read what the decoder wrote.
  bool wait_until(std::chrono::steady_clock::time_point deadline);
  bool done() const;
  CallResult result() const;  // meaningful once done

 private:
  friend class Client;
  void complete(CallResult result);

  const std::uint64_t id_;
  Decoder decoder_;                                 // used by the reader only
  std::function<void(const CallResult&)> on_done_;  // set before the call is sent
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  CallResult result_;
};

struct ClientStats {
  std::uint64_t replies = 0;
  std::uint64_t late_replies_dropped = 0;  // responses to calls no longer pending
  std::uint64_t bad_replies = 0;           // bodies the decoder rejected
};

class Client : public std::enable_shared_from_this<Client> {
 public:
  // Connects (blocking) to 127.0.0.1:port and starts the reader on `io`, which must be run by
  // at least one thread. Throws boost::system::system_error when the connection fails.
  static std::shared_ptr<Client> dial(boost::asio::io_context& io, std::uint16_t port);
  ~Client();

  // Sends a call and returns at once (Go's client.Go). The decoder runs on the reader thread;
  // `on_done`, if any, runs once the call completed (after the decode), on whichever thread
  // completed it: how a caller that does not block on wait_until() learns of it.
  std::shared_ptr<Call> go(std::string_view method, std::string body, Decoder decoder,
                           CallOptions options = {},
                           std::function<void(const CallResult&)> on_done = nullptr);
  // Go's client.Call for a coroutine or any completion token: sends the call and completes with
  // its CallResult once the reader completed it (after the decode). The completion is posted to
  // the token's associated executor: a coroutine on the reader's own io thread resumes there
  // without waking another thread. No timeout of its own (the server's deadline header aside).
  template <class Token>
  auto async_go(std::string_view method, std::string body, Decoder decoder, CallOptions options,
                Token&& token) {
    return boost::asio::async_initiate<Token, void(CallResult)>(
        [this](auto handler, std::string_view m, std::string b, Decoder d, CallOptions o) {
          auto ex = boost::asio::get_associated_executor(handler);
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          go(m, std::move(b), std::move(d), std::move(o), [h, ex](const CallResult& r) {
            boost::asio::post(ex, [h, r]() mutable { std::move (*h)(std::move(r)); });
          });
        },
        token, method, std::move(body), std::move(decoder), std::move(options));
  }
  // Removes a pending call under the client's lock. True: the reader had not taken it and never
  // will (a late response is dropped). False: the reader took it, or it completed already.
  bool forget(const Call& call);

  // An asynchronous call with a per-call timeout: exactly one completion, `done(result)`, runs
  // either on the reader (a response) or on the timer's strand (kTimedOut).
  void async_call(std::string_view method, std::string body, Decoder decoder, CallOptions options,
                  std::chrono::steady_clock::duration timeout,
                  std::function<void(const CallResult&)> done);
  // async_call, waited for; for callers on plain threads (never call it from the io_context).
  CallResult call(std::string_view method, std::string body, Decoder decoder, CallOptions options,
                  std::chrono::steady_clock::duration timeout);

  // Closes the connection now (on its strand), as Go's Client.Close does: a response not yet
  // read is lost and its pending call completes with kClosed.
  void close();
  // Graceful close: stops sending (a TCP half-close) but keeps reading, so responses already on
  // their way are still delivered to their pending calls; the connection ends when the server,
  // having answered, closes its side.
  void close_graceful();
  std::size_t pending() const;
  ClientStats stats() const;

  struct Impl;  // public so that the reader's helpers can name it; not part of the API

 private:
  explicit Client(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace faultline::rpc
