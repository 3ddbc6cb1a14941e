#include "servers/rpc/load.h"

#include <fmt/format.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "harness/probe/schedule.h"
#include "servers/rpc/client.h"
#include "servers/rpc/messages.h"

namespace faultline::rpc {
namespace {

using Clock = std::chrono::steady_clock;

// One connection and the latencies its reader records.
struct Lane {
  std::shared_ptr<Client> client;
  LatencyHistogram corrected, uncorrected;
};

// Calls not yet completed; the last completion wakes the waiter (and publishes the lanes).
class Outstanding {
 public:
  void add() {
    std::lock_guard lock(mutex_);
    ++n_;
  }
  void done() {
    std::lock_guard lock(mutex_);
    if (--n_ == 0) cv_.notify_all();
  }
  void wait_zero() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return n_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::uint64_t n_ = 0;
};

std::uint64_t ns(Clock::duration d) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

void run_open_loop(const LoadOptions& o, std::vector<Lane>& lanes, LoadResult& result) {
  Outstanding outstanding;
  std::atomic<std::uint64_t> replied{0}, timed_out{0}, failed{0};
  const std::string body = encode_divide_args({10, 3});
  const auto total =
      static_cast<std::uint64_t>(o.rate * std::chrono::duration<double>(o.duration).count());
  const OpenLoopSchedule schedule(o.rate, Clock::now());
  const Clock::time_point start = schedule.start();
  Clock::time_point last_sent = start;
  SendLag lag;
  for (std::uint64_t i = 0; i < total; ++i) {
    const Clock::time_point due = schedule.due(i);
    const Clock::time_point sent = schedule.wait_for(i);
    lag.note(due, sent);
    Lane& lane = lanes[i % lanes.size()];
    outstanding.add();
    lane.client->async_call(
        kDivideMethod, body, nullptr, {}, o.timeout,
        [&lane, &outstanding, &replied, &timed_out, &failed, due, sent](const CallResult& r) {
          const Clock::time_point now = Clock::now();
          if (r.outcome == CallOutcome::kReplied && r.status == Status::kOk) {
            lane.corrected.record(ns(now - due));  // on the connection's reader: one at a time
            lane.uncorrected.record(ns(now - sent));
            replied.fetch_add(1, std::memory_order_relaxed);
          } else if (r.outcome == CallOutcome::kTimedOut) {
            timed_out.fetch_add(1, std::memory_order_relaxed);
          } else {
            failed.fetch_add(1, std::memory_order_relaxed);
          }
          outstanding.done();
        });
    ++result.sent;
    last_sent = sent;
  }
  result.elapsed_s = std::chrono::duration<double>(last_sent - start).count();
  result.max_send_lag = lag.max;
  result.sent_late = lag.late;
  outstanding.wait_zero();
  result.replied = replied.load();
  result.timed_out = timed_out.load();
  result.failed = failed.load();
}

void run_closed_loop(const LoadOptions& o, std::vector<Lane>& lanes, LoadResult& result) {
  const std::string body = encode_divide_args({10, 3});
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + o.duration;
  std::vector<std::uint64_t> sent(lanes.size()), replied(lanes.size()), timed_out(lanes.size()),
      failed(lanes.size());
  std::vector<std::thread> callers;
  for (std::size_t c = 0; c < lanes.size(); ++c) {
    callers.emplace_back([&, c] {
      Lane& lane = lanes[c];
      while (Clock::now() < end) {
        const Clock::time_point t0 = Clock::now();
        const CallResult r = lane.client->call(kDivideMethod, body, nullptr, {}, o.timeout);
        ++sent[c];
        if (r.outcome == CallOutcome::kReplied && r.status == Status::kOk) {
          const std::uint64_t latency = ns(Clock::now() - t0);
          lane.corrected.record(latency);  // this caller's own lane: one writer
          lane.uncorrected.record(latency);
          ++replied[c];
        } else {
          ++(r.outcome == CallOutcome::kTimedOut ? timed_out[c] : failed[c]);
        }
      }
    });
  }
  for (auto& t : callers) t.join();
  result.elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  for (std::size_t c = 0; c < lanes.size(); ++c) {
    result.sent += sent[c];
    result.replied += replied[c];
    result.timed_out += timed_out[c];
    result.failed += failed[c];
  }
}

std::string percentiles(const LatencyHistogram& h) {
  auto us = [](std::uint64_t v) { return static_cast<double>(v) / 1000.0; };
  return fmt::format("p50 {:.1f} p99 {:.1f} p99.9 {:.1f} max {:.1f} us", us(h.percentile(50)),
                     us(h.percentile(99)), us(h.percentile(99.9)), us(h.max()));
}

}  // namespace

std::string LoadResult::summary() const {
  return fmt::format(
      "{} sent at {:.0f}/s, {} replied, {} timed out, {} failed; corrected {}; uncorrected {}; "
      "{} sent more than 1 ms late (worst {:.2f} ms)",
      sent, achieved_rate, replied, timed_out, failed, percentiles(corrected),
      percentiles(uncorrected), sent_late,
      std::chrono::duration<double, std::milli>(max_send_lag).count());
}

LoadResult run_load(const LoadOptions& o) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::vector<std::thread> io_threads;
  for (int i = 0; i < o.io_threads; ++i) io_threads.emplace_back([&] { io.run(); });
  LoadResult result;
  std::vector<Lane> lanes(static_cast<std::size_t>(std::max(o.connections, 1)));
  try {
    for (auto& lane : lanes) lane.client = Client::dial(io, o.port);
    if (o.open_loop) {
      run_open_loop(o, lanes, result);
    } else {
      run_closed_loop(o, lanes, result);
    }
  } catch (...) {
    for (auto& lane : lanes) {
      if (lane.client) lane.client->close();
    }
    work.reset();
    io.stop();
    for (auto& t : io_threads) t.join();
    throw;
  }
  for (auto& lane : lanes) lane.client->close();
  work.reset();
  for (auto& t : io_threads) t.join();
  for (auto& lane : lanes) {
    result.corrected.merge(lane.corrected);
    result.uncorrected.merge(lane.uncorrected);
  }
  result.achieved_rate =
      result.elapsed_s > 0 ? static_cast<double>(result.sent) / result.elapsed_s : 0;
  return result;
}

}  // namespace faultline::rpc
