#include "servers/rpc/io_pool.h"

#include <sched.h>

#include <algorithm>
#include <iostream>

namespace faultline::rpc {
namespace {

using Clock = std::chrono::steady_clock;

// Process-wide: how many io threads are awake (running handlers or spinning, not blocked in the
// kernel), and how many CPUs there are. A thread spins only while the awake ones fit on the
// CPUs: once they do not, a spinner would hold a CPU that a thread with work is waiting for.
std::atomic<unsigned> g_awake{0};
const unsigned g_cpus = std::max(1u, std::thread::hardware_concurrency());

bool may_spin() {
  return g_awake.load(std::memory_order_relaxed) <= g_cpus;
}

}  // namespace

IoPool::IoPool(int threads, std::chrono::microseconds spin) : spin_(spin) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));  // one thread runs each
  }
}

IoPool::~IoPool() {
  stop();
}

void IoPool::start(std::string name) {
  for (auto& io : contexts_) {
    work_.emplace_back(boost::asio::make_work_guard(*io));
    threads_.emplace_back([this, io = io.get(), name] {
      try {
        run(*io);
      } catch (const std::exception& e) {
        std::cerr << name << ": io thread ended: " << e.what() << '\n';
      }
    });
  }
}

boost::asio::io_context& IoPool::next() {
  return *contexts_[turn_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void IoPool::stop() {
  for (auto& io : contexts_) io->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  work_.clear();
}

void IoPool::run(boost::asio::io_context& io) const {
  if (spin_.count() <= 0) {
    io.run();
    return;
  }
  bool had_work = false;
  g_awake.fetch_add(1, std::memory_order_relaxed);
  while (!io.stopped()) {
    std::size_t ran = io.poll();
    if (ran > 0) {
      had_work = true;
      continue;
    }
    if (had_work && may_spin()) {
      // Each turn yields first: a thread with work waiting for this CPU gets it at once, and on
      // a CPU nobody else wants the yield returns at once.
      const auto until = Clock::now() + spin_;
      do {
        sched_yield();
        ran = io.poll();
      } while (ran == 0 && !io.stopped() && Clock::now() < until && may_spin());
      if (ran > 0) continue;
    }
    g_awake.fetch_sub(1, std::memory_order_relaxed);
    had_work = io.run_one() > 0;  // blocks until a handler ran or the pool stopped
    g_awake.fetch_add(1, std::memory_order_relaxed);
  }
  g_awake.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace faultline::rpc
