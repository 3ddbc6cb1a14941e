// Frames queued for one socket and written one at a time, in order: Asio allows one async_write
// in flight per stream, and a deque never moves its front while more frames are pushed. The
// Client sends through one of these, on the socket's strand only (the server's Connection
// gathers its replies and writes them itself, server.cpp).
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/error_code.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace faultline::rpc {

template <class Stream>
class WriteQueue {
 public:
  // on_drained: the last queued frame went out. on_failed: a write failed; the queue is emptied
  // and nothing more is written until the next send.
  WriteQueue(Stream& stream, std::function<void()> on_drained, std::function<void()> on_failed)
      : stream_(stream), on_drained_(std::move(on_drained)), on_failed_(std::move(on_failed)) {}

  // `owner` keeps the object that holds this queue (and the stream) alive until the writes end.
  void send(std::string bytes, std::shared_ptr<void> owner) {
    out_.push_back(std::move(bytes));
    if (!writing_) write_next(std::move(owner));
  }

 private:
  void write_next(std::shared_ptr<void> owner) {
    if (out_.empty()) {
      writing_ = false;
      if (on_drained_) on_drained_();
      return;
    }
    writing_ = true;
    boost::asio::async_write(
        stream_, boost::asio::buffer(out_.front()),
        [this, owner = std::move(owner)](boost::system::error_code ec, std::size_t) mutable {
          out_.pop_front();
          if (ec) {
            out_.clear();
            writing_ = false;
            if (on_failed_) on_failed_();
            return;
          }
          write_next(std::move(owner));
        });
  }

  Stream& stream_;
  std::function<void()> on_drained_;
  std::function<void()> on_failed_;
  std::deque<std::string> out_;
  bool writing_ = false;
};

}  // namespace faultline::rpc
