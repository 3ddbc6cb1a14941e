#include "harness/fault/proxy.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "harness/probe/splitmix.h"

namespace faultline::fault {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t kReadBytes = 32 * 1024;     // one read, as Toxiproxy's buffer
constexpr std::size_t kMaxQueuedBytes = 1 << 20;  // a delayed direction stops reading above it
constexpr double kBandwidthSliceSeconds = 0.1;    // bandwidth passes at most 100 ms at once

std::uint64_t hash(std::uint64_t seed, std::initializer_list<std::uint64_t> parts) {
  std::uint64_t h = splitmix64(seed);
  for (auto p : parts) h = splitmix64(h ^ p);
  return h;
}

double unit(std::uint64_t h) {  // [0, 1)
  return static_cast<double>(h >> 11) / 9007199254740992.0;
}

// Streams of draws: which number a draw is for.
enum Stream : std::uint64_t { kToxicity = 1, kTcpDraw = 2, kUdpDraw = 3 };

// A per-direction sequence of draws (latency jitter, slice sizes), keyed by its position.
class Draws {
 public:
  Draws() = default;
  Draws(std::uint64_t seed, std::uint64_t conn, std::uint64_t dir)
      : seed_(seed), conn_(conn), dir_(dir) {}
  double next() { return unit(hash(seed_, {kTcpDraw, conn_, dir_, n_++})); }

 private:
  std::uint64_t seed_ = 0, conn_ = 0, dir_ = 0, n_ = 0;
};

Clock::duration us(double v) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::micro>(v));
}

// Delay of ms +- jitter, never negative.
double jittered_us(const Fault& f, double u) {
  return std::max(0.0, f.latency_us + f.jitter_us * (2 * u - 1));
}

void set_linger_zero(tcp::socket& s) {
  error_code ignored;
  s.set_option(asio::socket_base::linger(true, 0), ignored);
}

struct Counters {
  std::atomic<std::uint64_t> connections{0}, upstream_failures{0}, bytes_up{0}, bytes_down{0},
      bytes_dropped{0}, chunks_delayed{0}, slices{0}, resets{0}, timeouts{0}, limits{0},
      slow_closes{0}, partition_cuts{0}, flows{0}, datagrams_up{0}, datagrams_down{0},
      datagrams_sent_up{0}, datagrams_sent_down{0}, dropped{0}, duplicated{0}, reordered{0},
      delayed{0};
  std::unique_ptr<std::atomic<std::uint64_t>[]> affected;
};

void add(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) {
  c.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace

struct Proxy::Impl {
  ProxyOptions options;
  const Clock::time_point started = Clock::now();  // partitions count their window from here
  Counters counters;
  std::optional<asio::io_context> io;
  std::optional<tcp::acceptor> acceptor;
  std::optional<udp::socket> udp_listen;
  tcp::endpoint tcp_upstream;
  udp::endpoint udp_upstream;
  std::uint16_t port = 0;
  std::vector<std::thread> threads;
  std::atomic<std::uint64_t> next_connection{0};
  mutable std::mutex ports_mu;
  std::map<std::uint16_t, std::uint16_t> upstream_ports;  // client port -> proxy's upstream port
  std::mutex stop_mu;
  bool stopped = false;

  // Whether fault i affects connection (or flow) `index`: one draw per (connection, fault).
  std::vector<bool> draw_active(std::uint64_t index) {
    std::vector<bool> active(options.faults.size());
    for (std::size_t i = 0; i < options.faults.size(); ++i) {
      const double t = options.faults[i].toxicity;
      active[i] = t >= 1.0 || unit(hash(options.seed, {kToxicity, index, i})) < t;
      if (active[i]) add(counters.affected[i]);
    }
    return active;
  }

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> udp_loop();
};

namespace {

// ---- TCP -------------------------------------------------------------------------------------

struct Chunk {
  std::vector<char> data;
  Clock::time_point ready;
  bool close_after = false;  // limit_data: the connection closes once this chunk is written
};

class Session;

// One direction of a connection: reads from src, writes to dst.
struct Direction {
  explicit Direction(const asio::strand<asio::io_context::executor_type>& ex)
      : wake(ex), space(ex), cut(ex) {}
  tcp::socket* src = nullptr;
  tcp::socket* dst = nullptr;
  bool up = false;
  std::atomic<std::uint64_t>* bytes_out = nullptr;
  std::vector<const Fault*> latency;
  std::vector<const Fault*> slicers;     // the first that acts applies
  std::vector<const Fault*> bandwidths;  // the lowest rate of those that act applies
  std::optional<std::uint64_t> limit;    // bytes
  bool dropping = false;                 // timeout: data is read and dropped
  double slow_close_us = 0;
  std::vector<const Fault*> partitions;  // the cuts of this direction
  bool cut_seen = false;                 // counted once in partition_cuts
  Draws draws;
  std::uint64_t passed = 0;       // bytes read and passed on (latency's after-bytes counts these)
  std::uint64_t sent = 0;         // bytes written to dst (bandwidth's and slicer's after-bytes)
  Clock::time_point next_send{};  // bandwidth pacing
  Clock::time_point last_ready{};
  // The latency queue, between this direction's reader and writer.
  std::deque<Chunk> queue;
  std::size_t queued_bytes = 0;
  bool eof = false;
  asio::steady_timer wake;   // the writer waits here for data
  asio::steady_timer space;  // the reader waits here for room
  asio::steady_timer cut;    // the reader and writer wait here for a held partition to heal
  bool done = false;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Proxy::Impl& proxy, tcp::socket client, std::uint64_t index)
      : proxy_(proxy),
        strand_(asio::make_strand(proxy.io->get_executor())),
        client_(std::move(client)),
        server_(strand_),
        index_(index),
        up_(strand_),
        down_(strand_),
        timer_(strand_),
        reset_timer_(strand_) {}

  auto executor() { return strand_; }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    error_code ec;
    client_.set_option(tcp::no_delay(true), ec);
    server_.open(proxy_.tcp_upstream.protocol(), ec);
    server_.set_option(tcp::no_delay(true), ec);
    if (const int b = proxy_.options.socket_buffer_bytes; b > 0) {
      server_.set_option(asio::socket_base::receive_buffer_size(b), ec);
      server_.set_option(asio::socket_base::send_buffer_size(b), ec);
      client_.set_option(asio::socket_base::send_buffer_size(b), ec);
    }
    auto [cerr] = co_await server_.async_connect(proxy_.tcp_upstream, kTuple);
    if (cerr) {
      // Nothing listens upstream: the client sees its connection reset (as a refused connect
      // would have told it), never a silent hang.
      add(proxy_.counters.upstream_failures);
      set_linger_zero(client_);
      client_.close(ec);
      co_return;
    }
    {
      std::uint16_t client_port = client_.remote_endpoint(ec).port();
      std::uint16_t local = server_.local_endpoint(ec).port();
      std::lock_guard lock(proxy_.ports_mu);
      proxy_.upstream_ports[client_port] = local;
    }
    const auto active = proxy_.draw_active(index_);
    setup(up_, true, active);
    setup(down_, false, active);
    const auto& faults = proxy_.options.faults;
    for (std::size_t i = 0; i < faults.size(); ++i) {
      if (!active[i]) continue;
      const Fault& f = faults[i];
      if (f.kind == Kind::kResetPeer) {
        co_spawn(strand_, reset_after(self, f), asio::detached);
      } else if (f.kind == Kind::kTimeout && f.timeout_us > 0) {
        co_spawn(strand_, close_after_timeout(self, f.timeout_us), asio::detached);
      }
    }
    for (Direction* d : {&up_, &down_}) {
      co_spawn(strand_, pump(self, *d), asio::detached);
      if (!d->latency.empty()) co_spawn(strand_, delayed_writer(self, *d), asio::detached);
    }
  }

 private:
  void setup(Direction& d, bool up, const std::vector<bool>& active) {
    d.up = up;
    d.src = up ? &client_ : &server_;
    d.dst = up ? &server_ : &client_;
    d.bytes_out = up ? &proxy_.counters.bytes_up : &proxy_.counters.bytes_down;
    d.draws = Draws(proxy_.options.seed, index_, up ? 0 : 1);
    const auto& faults = proxy_.options.faults;
    for (std::size_t i = 0; i < faults.size(); ++i) {
      const Fault& f = faults[i];
      if (!active[i] || !(up ? f.up : f.down)) continue;
      switch (f.kind) {
        case Kind::kLatency:
          d.latency.push_back(&f);  // several add up
          break;
        case Kind::kBandwidth:
          d.bandwidths.push_back(&f);
          break;
        case Kind::kSlicer:
          d.slicers.push_back(&f);
          break;
        case Kind::kLimitData:
          d.limit = d.limit ? std::min(*d.limit, f.bytes) : f.bytes;
          break;
        case Kind::kTimeout:
          d.dropping = true;
          break;
        case Kind::kSlowClose:
          d.slow_close_us += f.delay_us;
          break;
        case Kind::kPartition:
          d.partitions.push_back(&f);
          break;
        default:
          break;
      }
    }
  }

  // Closes both sockets once; `rst_*` resets that side (SO_LINGER 0) instead of closing it.
  void close_all(bool rst_client = false, bool rst_server = false) {
    if (closed_) return;
    closed_ = true;
    error_code ec;
    if (rst_client) set_linger_zero(client_);
    if (rst_server) set_linger_zero(server_);
    client_.close(ec);
    server_.close(ec);
    timer_.cancel();
    reset_timer_.cancel();
    for (Direction* d : {&up_, &down_}) {
      d->wake.cancel();
      d->space.cancel();
      d->cut.cancel();
    }
  }

  // The partition of this direction whose window holds `now`, if any.
  const Fault* cutting(Direction& d, Clock::time_point now) const {
    for (const Fault* f : d.partitions) {
      const auto from = proxy_.started + us(f->at_us);
      if (now >= from && (f->for_us == 0 || now < from + us(f->for_us))) return f;
    }
    return nullptr;
  }

  // While a held partition cuts this direction, nothing moves: waits for the heal. False: the
  // connection closed meanwhile. `dropped`: a drop partition cuts it now (the caller discards).
  asio::awaitable<bool> wait_out_cut(Direction& d, bool* dropped = nullptr) {
    if (dropped) *dropped = false;
    while (const Fault* f = cutting(d, Clock::now())) {
      if (!d.cut_seen) {
        d.cut_seen = true;
        add(proxy_.counters.partition_cuts);
      }
      if (f->drop) {
        if (dropped) *dropped = true;
        co_return true;
      }
      d.cut.expires_at(f->for_us == 0 ? Clock::time_point::max()
                                      : proxy_.started + us(f->at_us + f->for_us));
      co_await d.cut.async_wait(kTuple);
      if (closed_) co_return false;
    }
    co_return true;
  }

  static asio::awaitable<void> sleep_until(asio::steady_timer& t, Clock::time_point when) {
    if (when <= Clock::now()) co_return;
    t.expires_at(when);
    co_await t.async_wait(kTuple);
  }

  static asio::awaitable<void> reset_after(std::shared_ptr<Session> self, const Fault& f) {
    co_await sleep_until(self->reset_timer_, self->start_ + us(f.timeout_us));
    if (self->closed_) co_return;
    add(self->proxy_.counters.resets);
    // The peer that sees the reset is the one the fault's direction points to.
    self->close_all(/*rst_client=*/f.down, /*rst_server=*/f.up);
  }

  static asio::awaitable<void> close_after_timeout(std::shared_ptr<Session> self, double t_us) {
    co_await sleep_until(self->timer_, self->start_ + us(t_us));
    if (self->closed_) co_return;
    add(self->proxy_.counters.timeouts);
    self->close_all();
  }

  double since_start_us(Clock::time_point t) const {
    return std::chrono::duration<double, std::micro>(t - proxy_.started).count();
  }

  // Bytes from `passed` to the next after-bytes threshold of `faults` (a part of the stream
  // that one set of them acts on); the most a size_t holds when none is ahead.
  static std::size_t to_next_threshold(const std::vector<const Fault*>& faults,
                                       std::uint64_t passed) {
    std::uint64_t left = std::numeric_limits<std::size_t>::max();
    for (const Fault* f : faults) {
      if (f->after > passed) left = std::min(left, f->after - passed);
    }
    return static_cast<std::size_t>(left);
  }

  // Queues `n` bytes (the stream's bytes from `passed` on) for the delayed writer, each part
  // delayed by the latencies that act on it now: a part ends at an after-bytes threshold, so the
  // bytes before it pass clean. `close_after`: limit_data closes once the last part is written.
  void enqueue(Direction& d, const char* data, std::size_t n, std::uint64_t passed,
               bool close_after) {
    const double now_us = since_start_us(Clock::now());
    do {
      const std::size_t part = std::min(n, to_next_threshold(d.latency, passed));
      double delay = 0;
      for (const Fault* f : d.latency) {
        if (f->acts(now_us, passed)) delay += jittered_us(*f, d.draws.next());
      }
      // In order, as one stream: a chunk never overtakes the one before it.
      const auto ready = std::max(Clock::now() + us(delay), d.last_ready);
      d.last_ready = ready;
      d.queue.push_back(
          Chunk{std::vector<char>(data, data + part), ready, close_after && part == n});
      d.queued_bytes += part;
      passed += part;
      data += part;
      n -= part;
      add(proxy_.counters.chunks_delayed);
    } while (n > 0);
  }

  // The size of the next piece egress writes, and the rate it is paced at (0: none), from the
  // slicer and bandwidth faults that act now on the direction's next byte.
  std::size_t next_piece(Direction& d, std::size_t n, const Fault*& slicer, double& rate) {
    const double now_us = since_start_us(Clock::now());
    slicer = nullptr;
    rate = 0;
    std::size_t piece = std::min(
        {n, to_next_threshold(d.slicers, d.sent), to_next_threshold(d.bandwidths, d.sent)});
    for (const Fault* f : d.slicers) {
      if (!slicer && f->acts(now_us, d.sent)) slicer = f;
    }
    for (const Fault* f : d.bandwidths) {
      if (f->acts(now_us, d.sent))
        rate = rate == 0 ? f->rate_bytes_per_s : std::min(rate, f->rate_bytes_per_s);
    }
    if (slicer) {
      const double v = static_cast<double>(slicer->size_variation);
      const double size = static_cast<double>(slicer->average_size) + v * (2 * d.draws.next() - 1);
      piece = std::min<std::size_t>(piece, std::max<std::size_t>(1, std::llround(size)));
    }
    if (rate > 0) {
      piece = std::min<std::size_t>(
          piece, std::max<std::size_t>(1, static_cast<std::size_t>(rate * kBandwidthSliceSeconds)));
    }
    return piece;
  }

  // Writes one chunk to d.dst, sliced and paced as the direction's faults say. False: the
  // connection is closed.
  asio::awaitable<bool> egress(Direction& d, const char* data, std::size_t n,
                               asio::steady_timer& timer) {
    while (n > 0) {
      if (!d.partitions.empty()) {  // a cut: hold the data until the heal, or lose it
        bool dropped = false;
        if (!co_await wait_out_cut(d, &dropped)) co_return false;
        if (dropped) {
          add(proxy_.counters.bytes_dropped, n);
          co_return true;
        }
      }
      const Fault* slicer = nullptr;
      double rate = 0;
      const std::size_t piece = next_piece(d, n, slicer, rate);
      if (rate > 0) {
        // The piece leaves once the link would have carried it: pacing by a virtual clock
        // that never banks idle time.
        d.next_send =
            std::max(d.next_send, Clock::now()) + us(static_cast<double>(piece) * 1e6 / rate);
        co_await sleep_until(timer, d.next_send);
        if (closed_) co_return false;
      }
      auto [ec, written] = co_await asio::async_write(*d.dst, asio::buffer(data, piece), kTuple);
      if (ec) {
        close_all();
        co_return false;
      }
      add(*d.bytes_out, written);
      d.sent += written;
      data += piece;
      n -= piece;
      if (slicer) {
        add(proxy_.counters.slices);
        if (n > 0 && slicer->delay_us > 0) {
          co_await sleep_until(timer, Clock::now() + us(slicer->delay_us));
          if (closed_) co_return false;
        }
      }
    }
    co_return true;
  }

  // The source said end-of-stream: pass the close on (after slow_close), and when both
  // directions are done, close the connection.
  asio::awaitable<void> finish(Direction& d, asio::steady_timer& timer) {
    if (d.slow_close_us > 0 && !closed_) {
      add(proxy_.counters.slow_closes);
      co_await sleep_until(timer, Clock::now() + us(d.slow_close_us));
    }
    error_code ec;
    if (!closed_) d.dst->shutdown(tcp::socket::shutdown_send, ec);
    d.done = true;
    if (up_.done && down_.done) close_all();
  }

  static asio::awaitable<void> pump(std::shared_ptr<Session> self, Direction& d) {
    // With a socket buffer size given, the bytes a direction holds (one read, the latency
    // queue) are bounded by it too, as the wire of a real link is by the sender's window.
    const auto limit = static_cast<std::size_t>(self->proxy_.options.socket_buffer_bytes);
    const std::size_t max_queued = limit > 0 ? limit : kMaxQueuedBytes;
    std::vector<char> buf(limit > 0 ? std::min(limit, kReadBytes) : kReadBytes);
    asio::steady_timer timer(self->strand_);
    Counters& c = self->proxy_.counters;
    for (;;) {
      // A held cut reads nothing: the sender's buffers fill, as behind a real partition.
      if (!d.partitions.empty() && !co_await self->wait_out_cut(d)) co_return;
      auto [ec, n] = co_await d.src->async_read_some(asio::buffer(buf), kTuple);
      if (self->closed_) co_return;
      if (ec) {
        if (ec == asio::error::eof) {
          if (d.latency.empty()) {
            co_await self->finish(d, timer);
          } else {
            d.eof = true;
            d.wake.cancel();
          }
        } else {
          // A reset (or error) on one side is passed on as a reset to the other.
          self->close_all(/*rst_client=*/d.up ? false : true, /*rst_server=*/d.up);
        }
        co_return;
      }
      if (d.dropping) {
        add(c.bytes_dropped, n);
        continue;
      }
      std::size_t pass = n;
      bool limit_hit = false;
      if (d.limit) {
        const std::uint64_t left = *d.limit - d.passed;
        if (n >= left) {
          pass = static_cast<std::size_t>(left);
          limit_hit = true;
          add(c.bytes_dropped, n - pass);
        }
      }
      d.passed += pass;
      if (!d.latency.empty()) {
        self->enqueue(d, buf.data(), pass, d.passed - pass, limit_hit);
        d.wake.cancel();
        if (limit_hit) co_return;
        while (d.queued_bytes >= max_queued && !self->closed_) {
          d.space.expires_at(Clock::time_point::max());
          co_await d.space.async_wait(kTuple);
        }
        if (self->closed_) co_return;
      } else {
        if (pass > 0 && !co_await self->egress(d, buf.data(), pass, timer)) co_return;
        if (limit_hit) {
          add(c.limits);
          self->close_all();
          co_return;
        }
      }
    }
  }

  static asio::awaitable<void> delayed_writer(std::shared_ptr<Session> self, Direction& d) {
    asio::steady_timer timer(self->strand_);
    for (;;) {
      while (d.queue.empty() && !d.eof && !self->closed_) {
        d.wake.expires_at(Clock::time_point::max());
        co_await d.wake.async_wait(kTuple);
      }
      if (self->closed_) co_return;
      if (d.queue.empty()) {  // eof and drained
        co_await self->finish(d, timer);
        co_return;
      }
      Chunk chunk = std::move(d.queue.front());
      d.queue.pop_front();
      d.queued_bytes -= chunk.data.size();
      d.space.cancel();
      co_await sleep_until(timer, chunk.ready);
      if (self->closed_) co_return;
      if (!chunk.data.empty() &&
          !co_await self->egress(d, chunk.data.data(), chunk.data.size(), timer)) {
        co_return;
      }
      if (chunk.close_after) {
        add(self->proxy_.counters.limits);
        self->close_all();
        co_return;
      }
    }
  }

  Proxy::Impl& proxy_;
  asio::strand<asio::io_context::executor_type> strand_;
  tcp::socket client_;
  tcp::socket server_;
  const std::uint64_t index_;
  Direction up_, down_;
  asio::steady_timer timer_;
  asio::steady_timer reset_timer_;
  const Clock::time_point start_ = Clock::now();
  bool closed_ = false;
};

// ---- UDP -------------------------------------------------------------------------------------

struct Flow {
  Flow(const asio::strand<asio::io_context::executor_type>& ex, std::uint64_t i)
      : upstream(ex), index(i) {}
  udp::socket upstream;
  udp::endpoint client;
  std::uint64_t index;
  std::vector<bool> active;
  std::array<std::uint64_t, 2> seen{};  // datagrams per direction (0 up), for after-datagrams
};

struct Held {
  std::shared_ptr<std::vector<char>> data;
  std::shared_ptr<Flow> flow;
  int copies = 1;
  std::uint64_t remaining = 0;  // datagrams still to overtake it
  bool sent = false;
};

// All UDP state lives on one strand.
struct UdpState {
  explicit UdpState(Proxy::Impl& p) : proxy(p), strand(asio::make_strand(p.io->get_executor())) {}
  Proxy::Impl& proxy;
  asio::strand<asio::io_context::executor_type> strand;
  std::map<udp::endpoint, std::shared_ptr<Flow>> flows;
  std::array<std::uint64_t, 2> counter{};  // datagrams seen per direction (0 up, 1 down)
  std::array<std::deque<std::shared_ptr<Held>>, 2> held;

  void send(int dir, const std::shared_ptr<std::vector<char>>& data,
            const std::shared_ptr<Flow>& flow, int copies) {
    Counters& c = proxy.counters;
    for (int i = 0; i < copies; ++i) {
      auto done = [data, flow](error_code, std::size_t) {};
      if (dir == 0) {
        flow->upstream.async_send(asio::buffer(*data), done);
        add(c.datagrams_sent_up);
      } else {
        proxy.udp_listen->async_send_to(asio::buffer(*data), flow->client, done);
        add(c.datagrams_sent_down);
      }
    }
  }

  // One datagram passed (or was scheduled): held ones it overtook may go.
  void overtaken(int dir) {
    auto& q = held[dir];
    for (auto& h : q) {
      if (!h->sent && h->remaining > 0 && --h->remaining == 0) {
        h->sent = true;
        send(dir, h->data, h->flow, h->copies);
      }
    }
    while (!q.empty() && q.front()->sent) q.pop_front();
  }

  asio::awaitable<void> send_later(int dir, std::shared_ptr<std::vector<char>> data,
                                   std::shared_ptr<Flow> flow, int copies, double delay_us) {
    asio::steady_timer t(strand, us(delay_us));
    co_await t.async_wait(kTuple);
    send(dir, data, flow, copies);
  }

  asio::awaitable<void> release_after(int dir, std::shared_ptr<Held> h, double hold_us) {
    asio::steady_timer t(strand, us(hold_us));
    co_await t.async_wait(kTuple);
    if (h->sent) co_return;
    h->sent = true;
    send(dir, h->data, h->flow, h->copies);
  }

  void forward(int dir, std::shared_ptr<std::vector<char>> data,
               const std::shared_ptr<Flow>& flow) {
    Counters& c = proxy.counters;
    const std::uint64_t n = counter[dir]++;
    const std::uint64_t before = flow->seen[dir]++;
    const double now_us =
        std::chrono::duration<double, std::micro>(Clock::now() - proxy.started).count();
    add(dir == 0 ? c.datagrams_up : c.datagrams_down);
    const auto& faults = proxy.options.faults;
    int copies = 1;
    double delay_us = 0;
    const Fault* reorder = nullptr;
    for (std::size_t i = 0; i < faults.size(); ++i) {
      const Fault& f = faults[i];
      if (!flow->active[i] || !(dir == 0 ? f.up : f.down) || !f.acts(now_us, before)) continue;
      const double u =
          unit(hash(proxy.options.seed, {kUdpDraw, static_cast<std::uint64_t>(dir), n, i}));
      switch (f.kind) {
        case Kind::kUdpLoss:
          if (u < f.p) {
            add(c.dropped);
            return;
          }
          break;
        case Kind::kUdpDuplicate:
          if (u < f.p) {
            ++copies;
            add(c.duplicated);
          }
          break;
        case Kind::kUdpDelay:
          delay_us += jittered_us(f, u);
          break;
        case Kind::kUdpReorder:
          if (u < f.p && !reorder) reorder = &f;
          break;
        default:
          break;
      }
    }
    if (reorder) {
      add(c.reordered);
      auto h = std::make_shared<Held>(Held{std::move(data), flow, copies, reorder->gap, false});
      held[dir].push_back(h);
      co_spawn(strand, release_after(dir, h, reorder->hold_us + delay_us), asio::detached);
      return;
    }
    if (delay_us > 0) {
      add(c.delayed);
      co_spawn(strand, send_later(dir, std::move(data), flow, copies, delay_us), asio::detached);
    } else {
      send(dir, data, flow, copies);
    }
    overtaken(dir);
  }

  asio::awaitable<void> flow_loop(std::shared_ptr<Flow> flow) {
    for (;;) {
      auto data = std::make_shared<std::vector<char>>(65536);
      auto [ec, n] = co_await flow->upstream.async_receive(asio::buffer(*data), kTuple);
      if (ec == asio::error::operation_aborted || !flow->upstream.is_open()) co_return;
      if (ec) continue;  // ICMP port unreachable from a previous send: keep going
      data->resize(n);
      forward(1, std::move(data), flow);
    }
  }

  asio::awaitable<void> listen_loop() {
    for (;;) {
      auto data = std::make_shared<std::vector<char>>(65536);
      udp::endpoint from;
      auto [ec, n] =
          co_await proxy.udp_listen->async_receive_from(asio::buffer(*data), from, kTuple);
      if (ec == asio::error::operation_aborted || !proxy.udp_listen->is_open()) co_return;
      if (ec) continue;
      data->resize(n);
      auto& flow = flows[from];
      if (!flow) {
        const std::uint64_t index = proxy.counters.flows.fetch_add(1);
        flow = std::make_shared<Flow>(strand, index);
        flow->client = from;
        flow->active = proxy.draw_active(index);
        error_code e;
        flow->upstream.open(proxy.udp_upstream.protocol(), e);
        if (!e) flow->upstream.connect(proxy.udp_upstream, e);
        if (e) {
          flows.erase(from);
          continue;
        }
        co_spawn(strand, flow_loop(flow), asio::detached);
      }
      forward(0, std::move(data), flow);
    }
  }
};

}  // namespace

asio::awaitable<void> Proxy::Impl::accept_loop() {
  for (;;) {
    auto [ec, socket] =
        co_await acceptor->async_accept(asio::make_strand(io->get_executor()), kTuple);
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
    if (ec) {
      // Out of fds, say: back off a little rather than spin.
      asio::steady_timer t(acceptor->get_executor(), std::chrono::milliseconds(10));
      co_await t.async_wait(kTuple);
      continue;
    }
    add(counters.connections);
    auto s = std::make_shared<Session>(*this, std::move(socket), next_connection++);
    co_spawn(s->executor(), s->run(), asio::detached);
  }
}

asio::awaitable<void> Proxy::Impl::udp_loop() {
  auto state = std::make_shared<UdpState>(*this);
  co_await state->listen_loop();
}

Proxy::Proxy(ProxyOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.options = std::move(options);
  for (const auto& f : m.options.faults) {
    if (f.is_udp() != (m.options.protocol == Protocol::kUdp)) {
      throw std::invalid_argument(fmt::format(
          "fault '{}' is a {} fault; this proxy forwards {}", f.text, f.is_udp() ? "UDP" : "TCP",
          m.options.protocol == Protocol::kUdp ? "UDP" : "TCP"));
    }
  }
  m.counters.affected = std::make_unique<std::atomic<std::uint64_t>[]>(m.options.faults.size());
  m.io.emplace(std::max(1, m.options.threads));
  const auto listen_addr = asio::ip::make_address(m.options.listen_host);
  if (m.options.protocol == Protocol::kTcp) {
    tcp::resolver resolver(*m.io);
    m.tcp_upstream =
        *resolver.resolve(m.options.upstream_host, std::to_string(m.options.upstream_port)).begin();
    const tcp::endpoint ep(listen_addr, m.options.listen_port);
    m.acceptor.emplace(asio::make_strand(m.io->get_executor()));
    m.acceptor->open(ep.protocol());
    m.acceptor->set_option(tcp::acceptor::reuse_address(true));
    if (const int b = m.options.socket_buffer_bytes; b > 0) {
      // Before listen(): accepted sockets inherit the receive buffer, and the window with it.
      m.acceptor->set_option(asio::socket_base::receive_buffer_size(b));
    }
    m.acceptor->bind(ep);
    m.acceptor->listen(asio::socket_base::max_listen_connections);
    m.port = m.acceptor->local_endpoint().port();
    co_spawn(m.acceptor->get_executor(), m.accept_loop(), asio::detached);
  } else {
    udp::resolver resolver(*m.io);
    m.udp_upstream =
        *resolver.resolve(m.options.upstream_host, std::to_string(m.options.upstream_port)).begin();
    m.udp_listen.emplace(*m.io, udp::endpoint(listen_addr, m.options.listen_port));
    m.port = m.udp_listen->local_endpoint().port();
    co_spawn(*m.io, m.udp_loop(), asio::detached);
  }
  for (int i = 0; i < std::max(1, m.options.threads); ++i) {
    m.threads.emplace_back([&m] { m.io->run(); });
  }
}

Proxy::~Proxy() {
  stop();
}

std::uint16_t Proxy::port() const {
  return impl_->port;
}
const ProxyOptions& Proxy::options() const {
  return impl_->options;
}

void Proxy::stop() {
  Impl& m = *impl_;
  std::lock_guard lock(m.stop_mu);
  if (m.stopped) return;
  m.stopped = true;
  m.io->stop();
  for (auto& t : m.threads) t.join();
  // No thread runs the io_context now: destroying it here destroys every connection's
  // coroutines, and with them the sockets, on this thread.
  m.acceptor.reset();
  m.udp_listen.reset();
  m.io.reset();
}

ProxyStats Proxy::stats() const {
  const Counters& c = impl_->counters;
  auto g = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  ProxyStats s;
  s.connections = g(c.connections);
  s.upstream_failures = g(c.upstream_failures);
  s.bytes_up = g(c.bytes_up);
  s.bytes_down = g(c.bytes_down);
  s.bytes_dropped = g(c.bytes_dropped);
  s.chunks_delayed = g(c.chunks_delayed);
  s.slices = g(c.slices);
  s.resets = g(c.resets);
  s.timeouts = g(c.timeouts);
  s.limits = g(c.limits);
  s.slow_closes = g(c.slow_closes);
  s.partition_cuts = g(c.partition_cuts);
  s.flows = g(c.flows);
  s.datagrams_up = g(c.datagrams_up);
  s.datagrams_down = g(c.datagrams_down);
  s.datagrams_sent_up = g(c.datagrams_sent_up);
  s.datagrams_sent_down = g(c.datagrams_sent_down);
  s.dropped = g(c.dropped);
  s.duplicated = g(c.duplicated);
  s.reordered = g(c.reordered);
  s.delayed = g(c.delayed);
  for (std::size_t i = 0; i < impl_->options.faults.size(); ++i)
    s.affected.push_back(g(c.affected[i]));
  return s;
}

std::optional<std::uint16_t> Proxy::upstream_port_for(std::uint16_t client_port) const {
  std::lock_guard lock(impl_->ports_mu);
  auto it = impl_->upstream_ports.find(client_port);
  if (it == impl_->upstream_ports.end()) return std::nullopt;
  return it->second;
}

}  // namespace faultline::fault
