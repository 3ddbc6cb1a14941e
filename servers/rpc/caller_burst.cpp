#include "servers/rpc/caller_burst.h"

#include <fmt/format.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "harness/probe/resource_tally.h"
#include "harness/probe/splitmix.h"

namespace faultline::rpc {
namespace {

// A countdown that blocked threads wait on asleep (std::latch spins first, and a thousand
// spinning threads starve the thread that is still creating the others).
class Countdown {
 public:
  explicit Countdown(std::size_t n) : left_(n) {}
  void count_down() {
    std::lock_guard lock(mu_);
    if (left_ > 0 && --left_ == 0) cv_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return left_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::size_t left_;
};

}  // namespace

namespace {

std::int64_t ns_between(std::chrono::steady_clock::time_point a,
                        std::chrono::steady_clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}

// The open-loop part of the tally: latency from each caller's due time, start lag, rate.
void tally_open_loop(const std::vector<CallerResult>& results, const BurstTimes& times,
                     CallerTally& t) {
  const OpenLoopSchedule& schedule = *times.schedule;
  std::optional<std::chrono::steady_clock::time_point> last;
  std::size_t started = 0;
  for (std::size_t i = 0; i < results.size() && i < times.started.size(); ++i) {
    const CallerResult& r = results[i];
    if (r.kind == CallerResult::kNone) continue;  // never ran: the thread limit
    const auto due = schedule.due(i);
    t.start_lag.note(due, times.started[i]);
    if (!last || times.started[i] > *last) last = times.started[i];
    ++started;
    if (r.latency_ns >= 0) {
      const auto corrected =
          static_cast<std::uint64_t>(ns_between(due, r.called_at) + r.latency_ns);
      t.latency_corrected.record(corrected);
      t.over_time.record(r.called_at + std::chrono::nanoseconds(r.latency_ns), corrected);
    }
  }
  if (started > 1 && *last > schedule.start()) {
    t.achieved_rate = static_cast<double>(started - 1) /
                      std::chrono::duration<double>(*last - schedule.start()).count();
  }
}

}  // namespace

CallerTally CallerTally::sum(const std::vector<CallerResult>& results, std::uint64_t decodes,
                             int peak_in_flight, const BurstTimes& times) {
  CallerTally t;
  if (times.schedule) tally_open_loop(results, times, t);
  t.decodes = decodes;
  t.peak_in_flight = peak_in_flight;
  t.callers = results.size();
  for (const auto& r : results) {
    if (r.kind == CallerResult::kOk) ++t.ok;
    if (r.kind == CallerResult::kTimedOut) ++t.timed_out;
    if (r.kind == CallerResult::kFailed) ++t.failed;
    if (r.reply_wrong) ++t.wrong;
    t.first_wrong = earliest(t.first_wrong, r.wrong_at);
    t.entries_read += r.entries_read;
    if (r.latency_ns >= 0) {
      t.latency.record(static_cast<std::uint64_t>(r.latency_ns));
      if (!times.schedule) {
        t.over_time.record(r.called_at + std::chrono::nanoseconds(r.latency_ns),
                           static_cast<std::uint64_t>(r.latency_ns));
      }
    }
    if (r.timer_late_ns >= 0) t.timer_late.record(static_cast<std::uint64_t>(r.timer_late_ns));
    if (r.client) t.late_replies_dropped += r.client->stats().late_replies_dropped;
  }
  return t;
}

Measures CallerTally::measures(const BurstTimes& times) const {
  Measures m = {{"calls_ok", ok, "calls"},
                {"calls_timed_out", timed_out, "calls"},
                {"calls_failed", failed, "calls"},
                {"peak_calls_in_flight", peak_in_flight, "calls"},
                {"responses_decoded", decodes, "responses"},
                {"decoded_after_timeout", decodes - ok, "responses"},
                {"late_replies_dropped", late_replies_dropped, "responses"},
                {"quotient_entries_read", entries_read, "entries"}};
  const Measures t = times.measures();
  m.insert(m.end(), t.begin(), t.end());
  if (times.schedule) {
    m.push_back({"rate_target", times.schedule->rate(), "calls/s"});
    m.push_back({"rate_achieved", achieved_rate, "calls/s"});
    m.push_back({"calls_started_late", start_lag.late, "calls"});
    m.push_back({"max_start_lag_ms", start_lag.max_ms(), "ms"});
  }
  return m;
}

std::string CallerTally::summary(const BurstTimes& times) const {
  std::string line =
      fmt::format("{} callers: {} ok, {} timed out, {} failed in {:.0f} ms", callers, ok, timed_out,
                  failed, std::chrono::duration<double, std::milli>(times.callers).count());
  if (times.schedule) {
    line += fmt::format(
        "; open loop: due at {}/s, started at {:.0f}/s, {} more than 1 ms late "
        "(worst {:.2f} ms)",
        times.schedule->rate(), achieved_rate, start_lag.late, start_lag.max_ms());
  }
  return line;
}

std::string decode_delay_note(std::int64_t max_us) {
  return fmt::format("fault decode-delay on: the reader stalls 0..{} us before decoding", max_us);
}

Measures BurstTimes::measures() const {
  auto ms = [](std::chrono::steady_clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
  };
  return {{"spawn_ms", ms(spawn), "ms"},
          {"callers_ms", ms(callers), "ms"},
          {"drain_and_join_ms", ms(drain_and_join), "ms"},
          {"readers_drained", drained ? 1 : 0, "bool"}};
}

std::shared_ptr<Call> go_and_wait(Client& client, std::string_view method, std::string body,
                                  Decoder decoder, std::chrono::microseconds timeout,
                                  InFlight& in_flight, CallerResult& out) {
  const auto t0 = std::chrono::steady_clock::now();
  out.called_at = t0;
  auto call = client.go(method, std::move(body), std::move(decoder));
  in_flight.add(+1);
  const auto due = t0 + timeout;
  const bool completed = call->wait_until(due);
  const auto woke = std::chrono::steady_clock::now();
  in_flight.add(-1);
  out.record_wait(completed, *call, due, woke);
  return call;
}

void CallerResult::record_wait(bool completed, const Call& call,
                               std::chrono::steady_clock::time_point due,
                               std::chrono::steady_clock::time_point woke) {
  using std::chrono::nanoseconds;
  if (completed) {
    const auto r = call.result();
    latency_ns = std::chrono::duration_cast<nanoseconds>(woke - called_at).count();
    const bool ok = r.outcome == CallOutcome::kReplied && r.status == Status::kOk;
    kind = ok ? kOk : kFailed;
  } else {
    kind = kTimedOut;
    timer_late_ns = std::chrono::duration_cast<nanoseconds>(woke - due).count();
  }
}

void InFlight::add(int delta) {
  int now = now_.fetch_add(delta) + delta;
  int peak = peak_.load();
  while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
  }
}

Decoder delayed_decoder(std::uint64_t seed, std::size_t caller, std::int64_t max_us,
                        std::atomic<std::uint64_t>& decodes, Decoder inner) {
  const auto max = static_cast<std::uint64_t>(std::max<std::int64_t>(0, max_us));
  const std::uint64_t x = mix64(seed * kGoldenGamma + caller + 1);
  auto stall = std::chrono::microseconds(static_cast<std::int64_t>(x % (max + 1)));
  return [stall, &decodes, inner = std::move(inner)](const std::string& body) {
    decodes.fetch_add(1, std::memory_order_relaxed);
    if (stall.count() > 0) std::this_thread::sleep_for(stall);
    inner(body);
  };
}

BurstTimes run_caller_burst(ClientFleet& fleet, std::size_t callers,
                            std::chrono::milliseconds grace, std::optional<double> rate,
                            const std::function<void()>& at_start,
                            const std::function<void(std::size_t)>& call) {
  using Clock = std::chrono::steady_clock;
  Countdown start_gate(1);
  Countdown finished(callers);
  Countdown release(1);
  std::vector<std::thread> threads;
  threads.reserve(callers);
  BurstTimes times;
  if (rate) times.started.resize(callers);
  const auto t_spawn = Clock::now();
  for (std::size_t i = 0; i < callers; ++i) {
    const bool started = faultline::start_thread(threads, [&, i] {
      start_gate.wait();
      // Open loop: this caller's turn, whether or not the ones before it returned.
      if (times.schedule) times.started[i] = times.schedule->wait_for(i);
      call(i);
      finished.count_down();
      release.wait();
    });
    if (!started) {  // the thread limit: the callers that never started count as finished
      for (std::size_t missing = i; missing < callers; ++missing) finished.count_down();
      break;
    }
  }
  const auto t_start = Clock::now();
  times.spawn = t_start - t_spawn;
  at_start();
  if (rate) times.schedule.emplace(*rate, Clock::now());  // before any caller is released
  start_gate.count_down();
  finished.wait();  // every call is bounded: a loopback dial plus the timeout
  const auto t_callers = Clock::now();
  times.callers = t_callers - t_start;
  // Let the readers finish what they already hold: the io_context runs out of work once every
  // connection is closed and drained; the grace period bounds the wait.
  times.drained = fleet.drain(grace);
  fleet.stop();
  release.count_down();
  for (auto& t : threads) t.join();
  times.drain_and_join = Clock::now() - t_callers;
  return times;
}

}  // namespace faultline::rpc
