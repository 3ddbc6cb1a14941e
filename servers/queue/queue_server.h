// The write-queue server of seed 003 (vector-growth-alias, mode async): a Boost.Asio server whose
// sessions each keep their outgoing frames in a `Queue` of strings (the scenario's BUG: or FIX:
// container). async_write sends queue.front() while more frames are posted to the session's
// strand and pushed behind it: if a push moves the front frame's bytes, the send reads freed
// storage.
//
// Templates on the queue type, so the container is the only difference between the variants.
#pragma once

#include <boost/asio.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "harness/probe/perturb.h"
#include "harness/probe/resource_tally.h"

namespace faultline::queue {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// One connection. Everything below runs on the socket's strand; the session lives while a
// handler or the server's list holds it.
template <class Queue>
class Session : public std::enable_shared_from_this<Session<Queue>> {
 public:
  explicit Session(tcp::socket socket) : socket_(std::move(socket)) {
    boost::system::error_code ec;
    peer_port_ = socket_.remote_endpoint(ec).port();
  }

  // Names the connection in its frames: the client's own port, which the client knows too.
  std::uint16_t peer_port() const { return peer_port_; }

  auto executor() { return socket_.get_executor(); }

  void deliver(std::string frame) {
    const bool idle = queue_.empty();
    const char* front_before = idle ? nullptr : queue_.front().data();
    FAULTLINE_PERTURB("vector-growth.queue.before-push");  // a send may be in flight
    queue_.push_back(std::move(frame));
    // The window, in both variants: a frame pushed while async_write holds a buffer to the
    // front frame. Measured without touching freed memory: whether that front frame's bytes moved.
    if (writing_) ++pushes_during_write_;
    if (writing_ && queue_.front().data() != front_before) ++front_moved_during_write_;
    if (idle) write_front();
  }

  void close() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  std::uint64_t front_moved_during_write() const { return front_moved_during_write_; }
  std::uint64_t pushes_during_write() const { return pushes_during_write_; }
  std::uint64_t frames_written() const { return frames_written_; }

 private:
  void write_front() {
    writing_ = true;
    // The buffer points at the front frame's bytes until the completion handler runs.
    asio::async_write(socket_, asio::buffer(queue_.front()),
                      [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
                        self->writing_ = false;
                        if (ec) return;
                        ++self->frames_written_;
                        self->queue_.erase(self->queue_.begin());
                        if (!self->queue_.empty()) self->write_front();
                      });
  }

  tcp::socket socket_;
  std::uint16_t peer_port_ = 0;
  Queue queue_;
  bool writing_ = false;
  std::uint64_t front_moved_during_write_ = 0;
  std::uint64_t pushes_during_write_ = 0;
  std::uint64_t frames_written_ = 0;
};

// Listens on 127.0.0.1 (any free port) and keeps every session it accepted. `sndbuf` is the
// SO_SNDBUF of accepted sockets; `name` names a failed accept in the run's resource tally.
template <class Queue>
class Server {
 public:
  Server(asio::io_context& io, int sndbuf, std::string name)
      : io_(io), acceptor_(asio::make_strand(io)), sndbuf_(sndbuf), name_(std::move(name)) {
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }

  void start() {
    asio::post(acceptor_.get_executor(), [this] { accept(); });
  }

  // Waits until `n` sessions exist or the deadline passes; returns the sessions accepted.
  std::vector<std::shared_ptr<Session<Queue>>> wait_sessions(std::size_t n,
                                                             Clock::time_point until) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, until, [&] { return sessions_.size() >= n; });
    return sessions_;
  }

  // Closes the acceptor and every socket on their strands; the io threads finish the rest.
  void stop() {
    asio::post(acceptor_.get_executor(), [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
    });
    std::lock_guard lock(mu_);
    for (auto& s : sessions_) asio::post(s->executor(), [s] { s->close(); });
  }

 private:
  void accept() {
    acceptor_.async_accept(
        asio::make_strand(io_), [this](boost::system::error_code ec, tcp::socket socket) {
          if (ec) {
            // Out of fds (--max-fds): count it; the clients then wait for a server that will
            // not answer, and the run reports resource_exhausted instead of a quiet pass.
            faultline::resource_tally().note_fd(ec.value(), "accept (" + name_ + ")");
            return;
          }
          boost::system::error_code ignored;
          socket.set_option(asio::socket_base::send_buffer_size(sndbuf_), ignored);
          socket.set_option(tcp::no_delay(true), ignored);
          {
            std::lock_guard lock(mu_);
            sessions_.push_back(std::make_shared<Session<Queue>>(std::move(socket)));
          }
          cv_.notify_all();
          accept();
        });
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  const int sndbuf_;
  const std::string name_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<Session<Queue>>> sessions_;
};

}  // namespace faultline::queue
