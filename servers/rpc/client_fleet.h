// The client side of an RPC load: one io_context, run by a few threads, that every client
// connection's reader shares, and a burst of plain threads that each dial a connection of their
// own and make their calls on it (the per-caller goroutines of the seeds).
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "servers/rpc/client.h"

namespace faultline::rpc {

class RedialingClient;

class ClientFleet {
 public:
  // Starts `io_threads` threads running the io_context (fewer if the thread limit refuses one).
  explicit ClientFleet(int io_threads);
  ~ClientFleet();  // stop()
  ClientFleet(const ClientFleet&) = delete;
  ClientFleet& operator=(const ClientFleet&) = delete;

  boost::asio::io_context& io() { return io_; }

  // Dials 127.0.0.1:port; a dial refused for want of fds is noted in the resource tally (the
  // run's symptom) and, like any failed dial, gives null.
  std::shared_ptr<Client> dial(std::uint16_t port);
  // `clients` threads, each dialling its own connection and calling body(client, index) on it,
  // then closing it; returns once every one has been joined. A client that could not dial does
  // nothing.
  void run(std::size_t clients, std::uint16_t port,
           const std::function<void(Client&, std::size_t)>& body);

  // The same with a connection that comes back (redialing_client.h): each client thread dials
  // with a RedialingClient, which redials after a lost connection; a client whose first dial
  // fails does nothing.
  void run_redialing(std::size_t clients, std::uint16_t port,
                     const std::function<void(RedialingClient&, std::size_t)>& body);

  // Lets the readers finish what they hold: true if every connection closed and drained within
  // `grace` (the io_context ran out of work), false if the wait ran out first.
  bool drain(std::chrono::milliseconds grace);
  // Stops the io_context and joins its threads. Idempotent.
  void stop();

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

}  // namespace faultline::rpc
