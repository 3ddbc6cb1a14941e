#include "servers/broadcast/caller.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "harness/probe/resource_tally.h"
#include "harness/probe/run_clock.h"

namespace faultline::broadcast {

faultline::Measures Replies::measures() const {
  return {{"replies_ok", ok}, {"replies_timeout", timeout}, {"replies_missing", missing}};
}

CallerOptions caller_for(std::uint16_t port, int requests, std::chrono::milliseconds deadline,
                         std::chrono::milliseconds interval, std::optional<double> rate) {
  CallerOptions calls{.port = port,
                      .requests = requests,
                      .reply_wait = deadline + std::chrono::milliseconds(2000),
                      .interval = interval,
                      .rate = rate};
  if (rate) {
    calls.reply_wait =
        std::max(calls.reply_wait, (deadline + std::chrono::milliseconds(100)) * requests);
  }
  return calls;
}

int open_loopback_udp() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in self{};
  self.sin_family = AF_INET;
  self.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // port 0: the kernel picks one
  if (::bind(fd, reinterpret_cast<sockaddr*>(&self), sizeof self) != 0) {
    const int err = errno;
    ::close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

namespace {

using Clock = std::chrono::steady_clock;

std::uint64_t ns_between(Clock::time_point a, Clock::time_point b) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
}

std::string request_text(int i) {
  return fmt::format("broadcast {} to all users", i + 1);
}

// The request an answer names ("ok broadcast 3 to all users" -> 2), or nothing.
std::optional<int> answered(std::string_view reply) {
  const auto at = reply.find("broadcast ");
  if (at == std::string_view::npos) return std::nullopt;
  int n = 0;
  const char* first = reply.data() + at + 10;
  const auto [end, ec] = std::from_chars(first, reply.data() + reply.size(), n);
  if (ec != std::errc() || end == first || n < 1) return std::nullopt;
  return n - 1;
}

void count_answer(std::string_view reply, Replies& replies) {
  (reply.starts_with("ok") ? replies.ok : replies.timeout)++;
  if (!reply.starts_with("ok"))
    replies.first_timeout = earliest(replies.first_timeout, Clock::now());
}

void send_request(int udp, const sockaddr_in& to, int i) {
  const std::string request = request_text(i);
  ::sendto(udp, request.data(), request.size(), 0, reinterpret_cast<const sockaddr*>(&to),
           sizeof to);
}

Replies call_closed_loop(int udp, const sockaddr_in& to, const CallerOptions& options) {
  Replies replies;
  const int reply_wait_ms = static_cast<int>(options.reply_wait.count());
  for (int i = 0; i < options.requests && !faultline::resource_tally().exhausted(); ++i) {
    const Clock::time_point sent = Clock::now();
    send_request(udp, to, i);
    pollfd pfd{udp, POLLIN, 0};
    char reply[128] = {};
    ssize_t n = 0;
    if (::poll(&pfd, 1, reply_wait_ms) > 0 && (n = ::recv(udp, reply, sizeof reply, 0)) > 0) {
      count_answer(std::string_view(reply, static_cast<std::size_t>(n)), replies);
      const Clock::time_point now = Clock::now();
      const std::uint64_t latency = ns_between(sent, now);
      replies.corrected.record(latency);  // closed loop: due when sent
      replies.uncorrected.record(latency);
      replies.over_time.record(now, latency);
    } else {
      ++replies.missing;
    }
    std::this_thread::sleep_for(options.interval);
  }
  return replies;
}

// The sender keeps the schedule; this thread reads the answers, each timed from its request's
// due and send times (atomics: the datagram's path through the kernel is no ordering TSan sees).
Replies call_open_loop(int udp, const sockaddr_in& to, const CallerOptions& options) {
  Replies replies;
  const auto n = static_cast<std::size_t>(std::max(options.requests, 0));
  std::vector<std::atomic<std::int64_t>> sent_ns(n);  // since the schedule's start; -1: not sent
  for (auto& s : sent_ns) s.store(-1, std::memory_order_relaxed);
  std::vector<bool> seen(n, false);
  const OpenLoopSchedule schedule(*options.rate, Clock::now());
  std::atomic<int> sent_count{0};
  std::thread sender([&] {
    for (std::size_t i = 0; i < n && !faultline::resource_tally().exhausted(); ++i) {
      const Clock::time_point at = schedule.wait_for(i);
      replies.send_lag.note(schedule.due(i), at);  // the sender's alone until the join
      sent_ns[i].store(static_cast<std::int64_t>(ns_between(schedule.start(), at)),
                       std::memory_order_relaxed);
      send_request(udp, to, static_cast<int>(i));
      sent_count.fetch_add(1, std::memory_order_release);
    }
  });
  const Clock::time_point give_up = schedule.due(n > 0 ? n - 1 : 0) +
                                    std::chrono::duration_cast<Clock::duration>(options.reply_wait);
  std::size_t answers = 0;
  while (answers < n && Clock::now() < give_up) {
    pollfd pfd{udp, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - Clock::now());
    if (::poll(&pfd, 1, static_cast<int>(std::max<std::int64_t>(1, left.count()))) <= 0) continue;
    char reply[128] = {};
    const ssize_t got = ::recv(udp, reply, sizeof reply, 0);
    if (got <= 0) continue;
    const Clock::time_point now = Clock::now();
    const std::string_view text(reply, static_cast<std::size_t>(got));
    const auto i = answered(text);
    if (!i || static_cast<std::size_t>(*i) >= n || seen[*i]) continue;  // not one of ours
    const std::int64_t at = sent_ns[*i].load(std::memory_order_relaxed);
    if (at < 0) continue;
    seen[*i] = true;
    ++answers;
    count_answer(text, replies);
    replies.corrected.record(ns_between(schedule.due(*i), now));
    replies.over_time.record(now, ns_between(schedule.due(*i), now));
    replies.uncorrected.record(ns_between(schedule.start() + std::chrono::nanoseconds(at), now));
  }
  sender.join();
  const int sent = sent_count.load(std::memory_order_acquire);
  replies.missing = static_cast<std::uint64_t>(sent) - answers;
  if (sent > 1) {
    const auto last = schedule.start() + std::chrono::nanoseconds(sent_ns[sent - 1].load());
    const double span = std::chrono::duration<double>(last - schedule.start()).count();
    if (span > 0) replies.achieved_rate = static_cast<double>(sent - 1) / span;
  }
  return replies;
}

}  // namespace

faultline::Measures Replies::open_loop_measures(double target_rate) const {
  return {{"rate_target", target_rate, "requests/s"},
          {"rate_achieved", achieved_rate, "requests/s"},
          {"requests_sent_late", send_lag.late, "requests"},
          {"max_send_lag_ms", send_lag.max_ms(), "ms"}};
}

Replies call_broadcasts(const CallerOptions& options) {
  // Bound before the first sendto, which would otherwise bind it to 0.0.0.0.
  const int udp = open_loopback_udp();
  if (udp < 0) {
    faultline::resource_tally().note_fd(errno, "socket (broadcast-leak caller)");
    return {};  // out of fds: no request was sent
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(options.port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  Replies replies =
      options.rate ? call_open_loop(udp, to, options) : call_closed_loop(udp, to, options);
  ::close(udp);
  return replies;
}

std::optional<Clock::time_point> leak_first_seen(const std::vector<ThreadSampler::Sample>& samples,
                                                 int baseline,
                                                 std::optional<Clock::time_point> after) {
  if (!after) return std::nullopt;
  const double until_t = run_seconds();
  const Clock::time_point start = process_start();
  std::optional<Clock::time_point> seen;
  for (const auto& s : samples) {
    if (s.t_seconds > until_t) break;
    const auto at = start + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(s.t_seconds));
    if (s.threads <= baseline) {
      seen.reset();
    } else if (!seen && at >= *after) {
      seen = at;
    }
  }
  return seen;
}

}  // namespace faultline::broadcast
