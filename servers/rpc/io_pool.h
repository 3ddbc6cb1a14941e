// Threads that each run an io_context of their own: what a connection posts stays on its thread,
// and no post wakes another thread. The RPC server runs its connections on one; a client side
// can dial its connections onto one too (Client::dial takes any of its io_contexts).
//
// Spinning: an io thread that just ran handlers and finds nothing more polls for new events for
// up to `spin` before it blocks in the kernel, as Go's scheduler spins before it parks a thread.
// On a machine with idle CPUs a thread that blocked pays for a wake-up of a halted CPU (tens of
// microseconds in a VM) on the next event; one that is still spinning sees the event at once.
// A thread spins only after it had work, and only while the awake io threads of the process fit
// on its CPUs; each turn of the spin yields its CPU to any thread waiting for it. An idle pool
// costs nothing, and a busy one rarely spins at all.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace faultline::rpc {

class IoPool {
 public:
  // `threads` io_contexts (at least one); no thread runs until start().
  IoPool(int threads, std::chrono::microseconds spin);
  ~IoPool();  // stop()
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  // Starts one thread per io_context; `name` labels a thread that ends on an exception.
  void start(std::string name = "faultline rpc");
  // The io_contexts in turn (thread-safe).
  boost::asio::io_context& next();
  boost::asio::io_context& at(std::size_t i) { return *contexts_[i]; }
  std::size_t size() const { return contexts_.size(); }
  // Stops every io_context (handlers not yet run are dropped) and joins the threads. Idempotent;
  // never from one of the pool's own threads.
  void stop();

 private:
  void run(boost::asio::io_context& io) const;

  std::chrono::microseconds spin_;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> turn_{0};
};

}  // namespace faultline::rpc
