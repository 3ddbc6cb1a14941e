#include "servers/epoll/burst_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <latch>
#include <optional>
#include <random>
#include <thread>

#include "harness/probe/resource_tally.h"
#include "servers/epoll/frame.h"

namespace faultline::epoll {
namespace {
using Clock = std::chrono::steady_clock;

enum class Io { kOk, kTimeout, kEof, kReset, kError };

int ms_left(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
}

Io classify(int err) {
  return (err == ECONNRESET || err == EPIPE) ? Io::kReset : Io::kError;
}

Io send_all(int fd, std::string_view data, Clock::time_point deadline) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return classify(errno);
    pollfd p{fd, POLLOUT, 0};
    if (Clock::now() >= deadline || ::poll(&p, 1, std::max(1, ms_left(deadline))) == 0) {
      return Io::kTimeout;
    }
  }
  return Io::kOk;
}

// Reads exactly `size` bytes into `out` before `deadline`.
Io recv_exact(int fd, std::string& out, std::size_t size, Clock::time_point deadline) {
  out.resize(size);
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::recv(fd, out.data() + got, size - got, 0);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0) return Io::kEof;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return classify(errno);
    pollfd p{fd, POLLIN, 0};
    if (Clock::now() >= deadline || ::poll(&p, 1, std::max(1, ms_left(deadline))) == 0) {
      return Io::kTimeout;
    }
  }
  return Io::kOk;
}

ConnectOutcome outcome_of(int err) {
  switch (err) {
    case 0:
      return ConnectOutcome::kOk;
    case ECONNREFUSED:
      return ConnectOutcome::kRefused;
    case ECONNRESET:
      return ConnectOutcome::kReset;
    case ETIMEDOUT:
      return ConnectOutcome::kTimedOut;
    default:
      return ConnectOutcome::kOther;
  }
}

void count(BurstCounts& c, ConnectOutcome o) {
  switch (o) {
    case ConnectOutcome::kOk:
      ++c.connects_ok;
      break;
    case ConnectOutcome::kRefused:
      ++c.refused;
      c.first_refused = earliest(c.first_refused, Clock::now());
      break;
    case ConnectOutcome::kReset:
      ++c.reset;
      c.first_refused = earliest(c.first_refused, Clock::now());
      break;
    case ConnectOutcome::kTimedOut:
      ++c.timed_out;
      break;
    case ConnectOutcome::kOther:
      ++c.other_errors;
      break;
  }
}

bool make_address(const std::string& host, std::uint16_t port, sockaddr_in& addr) {
  addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  return ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) == 1;
}

// Starts a non-blocking connect. Returns the fd (>= 0) with `err` 0 or EINPROGRESS, or -1 with
// the error that ended the attempt at once.
int start_connect(const sockaddr_in& addr, int& err) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = errno;
    resource_tally().note_fd(err, "socket");
    return -1;
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    err = 0;
    return fd;
  }
  err = errno;
  if (err == EINPROGRESS) return fd;
  ::close(fd);
  return -1;
}

struct Conn {
  int fd = -1;
  bool alive = false;
  Clock::time_point sent_at;
  std::string request;  // the payload last sent
};

// What one client thread saw of a burst; merged after the join.
struct Share {
  BurstCounts counts;
  LatencyHistogram latency, corrected;
  LatencySeries over_time;
  SendLag lag;
};

// Connect phase: every attempt is started before any is waited for; those not done within
// connect_timeout_ms count as timed out. Leaves the connected ones alive.
void connect_all(const BurstOptions& o, const sockaddr_in& addr, std::vector<Conn>& conns,
                 BurstCounts& counts) {
  std::vector<pollfd> pending;
  for (auto& c : conns) {
    int err = 0;
    c.fd = start_connect(addr, err);
    if (c.fd < 0) {
      count(counts, outcome_of(err));
    } else if (err == 0) {
      c.alive = true;
      ++counts.connects_ok;
    } else {
      pending.push_back({c.fd, POLLOUT, 0});
    }
  }
  auto conn_of = [&](int fd) {
    return std::find_if(conns.begin(), conns.end(), [&](const Conn& c) { return c.fd == fd; });
  };
  const auto connect_deadline = Clock::now() + std::chrono::milliseconds(o.connect_timeout_ms);
  std::size_t unresolved = pending.size();
  while (unresolved > 0 && Clock::now() < connect_deadline) {
    if (::poll(pending.data(), pending.size(), std::max(1, ms_left(connect_deadline))) <= 0) {
      continue;
    }
    for (auto& p : pending) {
      if (p.fd < 0 || p.revents == 0) continue;
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      auto it = conn_of(p.fd);
      const ConnectOutcome outcome = outcome_of(err);
      count(counts, outcome);
      if (outcome == ConnectOutcome::kOk) {
        it->alive = true;
      } else {
        ::close(it->fd);
        it->fd = -1;
      }
      p.fd = -1;  // poll ignores negative fds
      --unresolved;
    }
  }
  for (auto& p : pending) {
    if (p.fd < 0) continue;
    ++counts.timed_out;
    auto it = conn_of(p.fd);
    ::close(it->fd);
    it->fd = -1;
  }
}

// The exchange phase's counting: a connection given up on (its `frames_left` frames lost), and
// the read of one connection's echo of its last request, timed from its send and, open loop,
// from when its round was due.
struct Exchange {
  const BurstOptions& o;
  Share& share;
  std::string reply;

  void give_up(Conn& c, Io why, int frames_left) {
    if (why == Io::kReset) {
      ++share.counts.reset;
      share.counts.first_refused = earliest(share.counts.first_refused, Clock::now());
    }
    share.counts.frames_lost += static_cast<std::uint64_t>(frames_left);
    c.alive = false;
  }

  void read_echo(Conn& c, int frames_left, std::optional<Clock::time_point> due) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(o.io_timeout_ms);
    Io io = recv_exact(c.fd, reply, kPrefixBytes, deadline);
    if (io == Io::kOk) {
      const std::uint32_t length = read_prefix(reply.data());
      if (length > kReplyPrefix.size() + kMaxFrameBytes) {
        ++share.counts.frames_corrupt;  // a length no reply can have: the stream is lost
        share.counts.first_corrupt = earliest(share.counts.first_corrupt, Clock::now());
        return give_up(c, Io::kError, frames_left - 1);
      }
      io = recv_exact(c.fd, reply, length, deadline);
    }
    if (io != Io::kOk) return give_up(c, io, frames_left);
    const Clock::time_point now = Clock::now();
    const auto since = [&](Clock::time_point t0) {
      return static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(now - t0).count());
    };
    share.latency.record(since(c.sent_at));
    if (due) share.corrected.record(since(*due));
    share.over_time.record(now, since(due ? *due : c.sent_at));
    const bool match = reply.size() == kReplyPrefix.size() + c.request.size() &&
                       reply.starts_with(kReplyPrefix) &&
                       std::string_view(reply).substr(kReplyPrefix.size()) == c.request;
    ++(match ? share.counts.frames_ok : share.counts.frames_corrupt);
    if (!match) share.counts.first_corrupt = earliest(share.counts.first_corrupt, now);
  }
};

// One client thread's share of a burst: connections opened together, then frames exchanged in
// rounds (send one frame on every live connection, then read every reply). Open loop: round m
// is due at m / rate after the connections were made, whether or not round m - 1 is done.
void run_share(const BurstOptions& o, int burst, int thread, Share& share) {
  sockaddr_in addr{};
  if (!make_address(o.host, o.port, addr)) {
    share.counts.other_errors += static_cast<std::uint64_t>(o.connections);
    return;
  }
  std::mt19937_64 rng(o.seed * 1'000'003u + static_cast<std::uint64_t>(burst) * 1009u +
                      static_cast<std::uint64_t>(thread));
  std::vector<Conn> conns;
  for (int i = thread; i < o.connections; i += o.threads) conns.emplace_back();
  connect_all(o, addr, conns, share.counts);

  std::optional<OpenLoopSchedule> schedule;
  if (o.rate) schedule.emplace(*o.rate, Clock::now());
  std::uniform_int_distribution<int> size_dist(1, std::max(1, o.max_frame_bytes));
  std::uniform_int_distribution<int> byte_dist(0, 255);
  std::string wire;
  Exchange x{o, share, {}};
  for (int m = 0; m < o.frames; ++m) {
    // Out of fds (here or in the server): the server cannot serve every connection, and waiting
    // io_timeout_ms per frame on each would only turn the symptom into a hang.
    if (resource_tally().exhausted()) {
      for (auto& c : conns) {
        if (c.alive) x.give_up(c, Io::kError, o.frames - m);
      }
      break;
    }
    std::optional<Clock::time_point> due;
    if (schedule) {
      due = schedule->due(static_cast<std::uint64_t>(m));
      share.lag.note(*due, schedule->wait_for(static_cast<std::uint64_t>(m)));
    }
    for (auto& c : conns) {
      if (!c.alive) continue;
      c.request.resize(static_cast<std::size_t>(size_dist(rng)));
      for (auto& ch : c.request) ch = static_cast<char>(byte_dist(rng));
      wire.clear();
      append_frame(wire, c.request);
      c.sent_at = Clock::now();
      const Io io = send_all(c.fd, wire, c.sent_at + std::chrono::milliseconds(o.io_timeout_ms));
      if (io != Io::kOk) x.give_up(c, io, o.frames - m);
    }
    for (auto& c : conns) {
      if (c.alive) x.read_echo(c, o.frames - m, due);
    }
  }
  for (auto& c : conns) {
    if (c.fd >= 0) ::close(c.fd);
  }
}
}  // namespace

void BurstCounts::add(const BurstCounts& o) {
  connects_ok += o.connects_ok;
  refused += o.refused;
  reset += o.reset;
  timed_out += o.timed_out;
  other_errors += o.other_errors;
  frames_ok += o.frames_ok;
  frames_lost += o.frames_lost;
  frames_corrupt += o.frames_corrupt;
  first_refused = earliest(first_refused, o.first_refused);
  first_corrupt = earliest(first_corrupt, o.first_corrupt);
}

faultline::Measures BurstCounts::measures() const {
  return {
      {"connects_ok", connects_ok},  {"conn_refused", refused},           {"conn_reset", reset},
      {"conn_timed_out", timed_out}, {"conn_other_errors", other_errors}, {"frames_ok", frames_ok},
      {"frames_lost", frames_lost},  {"frames_corrupt", frames_corrupt}};
}

ConnectOutcome connect_with_timeout(const std::string& host, std::uint16_t port, int timeout_ms,
                                    int& fd_out) {
  fd_out = -1;
  sockaddr_in addr{};
  if (!make_address(host, port, addr)) return ConnectOutcome::kOther;
  int err = 0;
  const int fd = start_connect(addr, err);
  if (fd < 0) return outcome_of(err);
  if (err == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) {
      ::close(fd);
      return ConnectOutcome::kTimedOut;
    }
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  }
  if (err != 0) {
    ::close(fd);
    return outcome_of(err);
  }
  fd_out = fd;
  return ConnectOutcome::kOk;
}

BurstResult run_bursts(const BurstOptions& options) {
  BurstOptions o = options;
  o.threads = std::clamp(o.threads, 1, std::max(1, o.connections));
  BurstResult result;
  for (int b = 0; b < o.bursts; ++b) {
    std::vector<Share> shares(static_cast<std::size_t>(o.threads));
    const auto burst_start = std::chrono::steady_clock::now();
    std::latch start(o.threads);
    std::vector<std::thread> threads;
    for (int t = 0; t < o.threads; ++t) {
      const bool started = start_thread(threads, [&, t] {
        start.arrive_and_wait();  // the burst's connections go out together
        run_share(o, b, t, shares[static_cast<std::size_t>(t)]);
      });
      if (!started) {
        // The thread limit refused one: release those waiting for it, and run no more bursts.
        for (int missing = t; missing < o.threads; ++missing) start.count_down();
        break;
      }
    }
    for (auto& t : threads) t.join();
    BurstCounts burst;
    burst.started = burst_start;
    burst.ended = std::chrono::steady_clock::now();
    for (const Share& share : shares) {
      burst.add(share.counts);
      result.latency.merge(share.latency);
      result.latency_corrected.merge(share.corrected);
      result.over_time.merge(share.over_time);
      result.send_lag.add(share.lag);
    }
    result.per_burst.push_back(burst);
    result.total.add(burst);
    if (o.after_burst) o.after_burst(b);
    if (resource_tally().exhausted()) break;  // the next burst would fail the same way
    if (b + 1 < o.bursts && o.gap_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(o.gap_ms));
    }
  }
  return result;
}

faultline::Measures BurstResult::open_loop_measures(double rate) const {
  return {{"rate_target", rate, "frames/s per connection"},
          {"rounds_sent_late", send_lag.late, "rounds"},
          {"max_send_lag_ms", send_lag.max_ms(), "ms"}};
}

RefusalTally tally_refusals(const BurstResult& result,
                            const std::function<bool(const BurstCounts&)>& excluded) {
  RefusalTally tally;
  for (std::size_t b = 0; b < result.per_burst.size(); ++b) {
    const auto& c = result.per_burst[b];
    const bool out = excluded && excluded(c);
    (out ? tally.excluded : tally.counted) += c.refused + c.reset;
    if (!out) tally.first = earliest(tally.first, c.first_refused);
    tally.per_burst_measures.emplace_back("burst" + std::to_string(b + 1) + "_refused_or_reset",
                                          c.refused + c.reset);
    tally.per_burst += (b ? "; burst " : "burst ") + std::to_string(b + 1) + ": " +
                       std::to_string(c.connects_ok) + " ok / " + std::to_string(c.refused) +
                       " refused / " + std::to_string(c.reset) + " reset" +
                       (out ? " (server down)" : "");
  }
  return tally;
}

}  // namespace faultline::epoll
