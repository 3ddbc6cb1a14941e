// vector-growth-alias: a reference, or an in-flight write buffer, into a std::vector outlives
// the vector's storage once an append outgrows the capacity.
//
// Incident (seed 003, part 2, Go): a function appended to a slice it was given and then set
// s[0]. Within the capacity the append reused the caller's backing array, so the write reached
// the caller; past the capacity append moved the elements to a new array and the write silently
// stopped reaching the caller. Go's GC keeps the old array alive; in C++ the old storage is
// freed, so the alias dangles.
// Root cause: holding on to an element's address across an operation that may reallocate.
// Fix: a container whose push_back at the end never moves elements (std::deque), or buffers the
// writer owns.
//
// Mode `reference` (the seed's own shape, sequential as in the seed): a batch starts with one
// record and room for `capacity`; a handler keeps `Record& first = batch.front()`, appends
// 1..max-append records, then marks `first`.
//   handler                         batch storage
//   first = &slot0 of block A       block A [r0, _ ]          (capacity 2)
//   push_back(r1)                   block A [r0, r1]          within capacity: first still ok
//   push_back(r2)                   block B [r0, r1, r2, _]   block A freed
//   first.status = kMarked          writes into freed block A: ASan heap-use-after-free;
//                                   without ASan the batch's r0 stays unmarked: a lost write
//
// Mode `async` (the classic async-server form): a Boost.Asio server keeps each connection's
// write queue in a std::vector<std::string>; async_write sends queue.front() while a publisher
// thread posts more frames to the connection's strand. Frames are short enough (15 bytes) to
// sit in the std::string's inline buffer, so the bytes being sent live in the vector's storage.
//   strand (server)                              kernel / reactor
//   async_write(buffer(queue.front()))           socket full: the send waits for room
//   deliver(frame): queue.push_back(frame)
//     size == capacity: new storage, strings
//     moved, old storage freed
//                                                socket writable: send() reads the buffer,
//                                                which points into the freed storage
//   ASan: heap-use-after-free in send(); without ASan the client gets whatever the freed bytes
//   hold by then, and its checksum fails: corrupt_frame.
// With libstdc++ a longer frame lives on the heap and a move keeps that heap block, so the
// vector variant stops failing above 15 bytes (see frame-bytes): the hazard hides behind the
// small-string optimisation.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "harness/fault/route.h"
#include "harness/probe/histogram.h"
#include "harness/probe/perturb.h"
#include "harness/probe/resource_tally.h"
#include "harness/scenario/scenario_api.h"

namespace {

using faultline::ParamType;
namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

const faultline::ScenarioSpec kSpec{
    "vector-growth-alias",
    "003",
    "a reference / in-flight buffer into a std::vector dangles after growth",
    "heap_use_after_free (ASan); without sanitizer lost_write (mode reference) or corrupt_frame "
    "(mode async)",
    {"buggy", "fixed"},
    {
        {"mode",
         ParamType::kString,
         "reference",
         "reference: the seed's alias kept across appends; async: an Asio server's write queue",
         std::nullopt,
         std::nullopt,
         {"reference", "async"}},
        {"batches", ParamType::kInt, "10000", "reference: batches handled", 1, 100'000'000, {}},
        {"capacity",
         ParamType::kInt,
         "2",
         "reference: room reserved in a batch holding one record (seed: make([]string, 1, 2))",
         1,
         1'000'000,
         {}},
        {"max-append",
         ParamType::kInt,
         "2",
         "reference: a handler appends 1..max-append records (seed: 1 within, 2 past capacity)",
         1,
         1'000'000,
         {}},
        {"connections",
         ParamType::kInt,
         "4",
         "async: client connections, one thread each",
         1,
         256,
         {}},
        {"frames",
         ParamType::kInt,
         "2000",
         "async: frames sent on each connection",
         1,
         1'000'000,
         {}},
        {"frame-bytes",
         ParamType::kInt,
         "15",
         "async: frame size; up to 15 the bytes sit inside the std::string (libstdc++ SSO)",
         11,
         4096,
         {}},
        {"burst",
         ParamType::kInt,
         "32",
         "async: frames the publisher posts per connection at once",
         1,
         100'000,
         {}},
        {"burst-gap-us",
         ParamType::kInt,
         "200",
         "async: publisher pause between bursts, in us",
         0,
         1'000'000,
         {}},
        {"io-threads", ParamType::kInt, "2", "async: server io_context threads", 1, 64, {}},
        {"sndbuf-bytes",
         ParamType::kInt,
         "4096",
         "async: SO_SNDBUF of server sockets (small, so sends wait for room as under a slow "
         "client)",
         1024,
         16 << 20,
         {}},
        {"rcvbuf-bytes",
         ParamType::kInt,
         "4096",
         "async: SO_RCVBUF of client sockets",
         1024,
         16 << 20,
         {}},
        {"client-stall-ms",
         ParamType::kInt,
         "50",
         "async: a client waits this long after connecting before its first read, in ms",
         0,
         60'000,
         {}},
        {"client-read-delay-us",
         ParamType::kInt,
         "2000",
         "async: a slow consumer's pause after each read of up to 16 frames, in us",
         0,
         1'000'000,
         {}},
        {"time-limit-ms",
         ParamType::kInt,
         "8000",
         "async: publisher and clients give up after this many milliseconds",
         100,
         600'000,
         {}},
    },
    {"tcp"},  // mode async only: mode reference has no network and refuses --fault
    {
        faultline::expect_incident("buggy", "none", {{"lost_write"}, {"corrupt_frame"}},
                                   {"appends_past_capacity>0", "pushes_during_write>0"}),
        faultline::expect_incident(
            "buggy", "tsan",
            {{"heap_use_after_free"}, {"lost_write"}, {"corrupt_frame"}, {"data_race"}},
            {"appends_past_capacity>0", "pushes_during_write>0"}),
        faultline::expect_incident("buggy", "asan", {{"heap_use_after_free"}},
                                   {"appends_past_capacity>0", "pushes_during_write>0"}),
        // The window: a batch outgrew its room (reference), or a frame was queued while a
        // write was in flight (async).
        faultline::expect_clean("fixed", "*", {"appends_past_capacity>0", "pushes_during_write>0"}),
    }};

// ---- mode reference -------------------------------------------------------------------------

struct Record {
  std::uint64_t order_id = 0;
  std::uint64_t amount = 0;
  std::uint64_t status = 0;
  std::uint64_t version = 0;
};
constexpr std::uint64_t kFresh = 1;
constexpr std::uint64_t kMarked = 2;

using BuggyBatch = std::vector<Record>;  // BUG: push_back past capacity moves every record
using FixedBatch = std::deque<Record>;   // FIX: push_back at the end never moves a record

template <class Batch>
int run_reference(faultline::Context& ctx) {
  const auto batches = ctx.params.integer("batches");
  const auto capacity = static_cast<std::size_t>(ctx.params.integer("capacity"));
  const auto max_append = ctx.params.integer("max-append");
  std::mt19937_64 rng(ctx.seed);
  std::uniform_int_distribution<std::int64_t> append_dist(1, max_append);

  std::uint64_t reached = 0;    // the mark is visible through the batch
  std::uint64_t lost = 0;       // the mark is not: it went to storage the batch left
  std::uint64_t moved = 0;      // the first record changed address under the alias
  std::uint64_t past_room = 0;  // appends that needed more than the reserved room
  for (std::int64_t b = 0; b < batches; ++b) {
    Batch batch;
    if constexpr (std::is_same_v<Batch, std::vector<Record>>) batch.reserve(capacity);
    batch.push_back({static_cast<std::uint64_t>(b), 100, kFresh, 1});
    // The handler's alias: valid only while the first record stays where it is.
    Record& first = batch.front();
    const auto* first_address = &first;
    const auto appended = append_dist(rng);
    for (std::int64_t i = 0; i < appended; ++i) {
      batch.push_back({static_cast<std::uint64_t>(b), static_cast<std::uint64_t>(i), kFresh, 1});
    }
    if (static_cast<std::size_t>(appended) + 1 > capacity) ++past_room;
    if (&batch.front() != first_address) ++moved;
    first.status = kMarked;  // the seed's s[0] = "..." after the appends
    if (batch.front().status == kMarked) {
      ++reached;
    } else {
      ++lost;
    }
  }
  ctx.report.metric("batches", static_cast<double>(batches), "batches");
  ctx.report.metric("appends_past_capacity", static_cast<double>(past_room), "batches");
  ctx.report.metric("alias_moved", static_cast<double>(moved), "batches");
  ctx.report.metric("writes_reached", static_cast<double>(reached), "writes");
  ctx.report.observation("lost_write", lost,
                         fmt::format("{} of {} marks written through the alias never reached "
                                     "the batch ({} batches outgrew the reserved room)",
                                     lost, batches, past_room));
  fmt::print("{} {} reference: {} batches, {} past capacity, {} alias moved, {} lost writes\n",
             kSpec.id, ctx.variant, batches, past_room, moved, lost);
  return 0;
}

// ---- mode async: frames -----------------------------------------------------------------------

// Frame layout: seq (4 bytes LE) | connection (2 bytes LE) | payload | FNV-1a 32 of the rest (4).
std::uint32_t fnv1a(const char* p, std::size_t n) {
  std::uint32_t h = 2166136261u;
  for (std::size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(p[i]);
    h *= 16777619u;
  }
  return h;
}

void put_le(char* p, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

std::uint64_t get_le(const char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

std::string make_frame(std::size_t size, std::uint32_t seq, std::uint16_t conn,
                       std::uint64_t salt) {
  std::string f(size, '\0');
  put_le(f.data(), seq, 4);
  put_le(f.data() + 4, conn, 2);
  std::uint64_t x = salt ^ (std::uint64_t{seq} << 16 | conn);
  for (std::size_t i = 6; i + 4 < size; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    f[i] = static_cast<char>(x >> 56);
  }
  put_le(f.data() + size - 4, fnv1a(f.data(), size - 4), 4);
  return f;
}

bool frame_ok(const char* f, std::size_t size, std::uint32_t seq, std::uint16_t conn) {
  return get_le(f + size - 4, 4) == fnv1a(f, size - 4) && get_le(f, 4) == seq &&
         get_le(f + 4, 2) == conn;
}

// ---- mode async: server -----------------------------------------------------------------------

using BuggyQueue = std::vector<std::string>;  // BUG: growth moves the frame being sent
using FixedQueue = std::deque<std::string>;   // FIX: growth at the end moves nothing

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

template <class Queue>
class Server {
 public:
  Server(asio::io_context& io, int sndbuf)
      : io_(io), acceptor_(asio::make_strand(io)), sndbuf_(sndbuf) {
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
            faultline::resource_tally().note_fd(ec.value(), "accept (vector-growth-alias)");
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
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<Session<Queue>>> sessions_;
};

// ---- mode async: client -----------------------------------------------------------------------

struct ClientResult {
  std::uint64_t frames_ok = 0;
  std::uint64_t frames_corrupt = 0;
  std::uint64_t bytes = 0;
  bool connected = false;
  bool complete = false;
  faultline::LatencyHistogram frame_gap;  // time between consecutive frames, ns
};

// A plain blocking socket with a receive timeout, so every read ends by the time limit.
void run_client(const faultline::fault::Route& route, std::size_t frames, std::size_t size,
                int rcvbuf, std::chrono::milliseconds stall, std::chrono::microseconds read_delay,
                Clock::time_point deadline, ClientResult& out) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    faultline::resource_tally().note_fd(errno, "socket (vector-growth-alias client)");
    return;
  }
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  timeval tv{0, 100'000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(route.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return;
  }
  sockaddr_in local{};
  socklen_t local_len = sizeof local;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len);
  // The server names a connection by its peer port: this socket's own port, or through the
  // fault proxy the port of the proxy's connection to the server.
  const auto server_side = route.server_side_port(ntohs(local.sin_port), std::chrono::seconds(2));
  if (!server_side) {
    ::close(fd);
    return;
  }
  out.connected = true;
  const std::uint16_t conn = *server_side;
  // The stalled consumer: the server's frames pile up in this socket until the window closes.
  std::this_thread::sleep_for(std::min<Clock::duration>(stall, deadline - Clock::now()));
  std::vector<char> buf(size * 16);
  std::size_t have = 0;
  std::uint32_t seq = 0;
  auto last = Clock::now();
  while (seq < frames && Clock::now() < deadline) {
    const ssize_t n = ::recv(fd, buf.data() + have, buf.size() - have, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      break;
    }
    have += static_cast<std::size_t>(n);
    out.bytes += static_cast<std::size_t>(n);
    std::size_t off = 0;
    for (; have - off >= size && seq < frames; off += size, ++seq) {
      if (frame_ok(buf.data() + off, size, seq, conn)) {
        ++out.frames_ok;
      } else {
        ++out.frames_corrupt;
      }
      const auto now = Clock::now();
      out.frame_gap.record(static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(now - last).count()));
      last = now;
    }
    std::memmove(buf.data(), buf.data() + off, have - off);
    have -= off;
    if (read_delay.count() > 0) std::this_thread::sleep_for(read_delay);
  }
  out.complete = seq == frames;
  ::close(fd);
}

template <class Queue>
int run_async(faultline::Context& ctx) {
  const auto connections = static_cast<std::size_t>(ctx.params.integer("connections"));
  const auto frames = static_cast<std::size_t>(ctx.params.integer("frames"));
  const auto frame_bytes = static_cast<std::size_t>(ctx.params.integer("frame-bytes"));
  const auto burst = static_cast<std::size_t>(ctx.params.integer("burst"));
  const auto burst_gap = std::chrono::microseconds(ctx.params.integer("burst-gap-us"));
  const auto io_threads = static_cast<std::size_t>(ctx.params.integer("io-threads"));
  const auto sndbuf = static_cast<int>(ctx.params.integer("sndbuf-bytes"));
  const auto rcvbuf = static_cast<int>(ctx.params.integer("rcvbuf-bytes"));
  const auto read_delay = std::chrono::microseconds(ctx.params.integer("client-read-delay-us"));
  const auto stall = std::chrono::milliseconds(ctx.params.integer("client-stall-ms"));
  const auto deadline =
      Clock::now() + std::chrono::milliseconds(ctx.params.integer("time-limit-ms"));

  asio::io_context io;
  auto work = asio::make_work_guard(io);
  Server<Queue> server(io, sndbuf);
  const unsigned short port = server.port();
  ctx.report.metric("server_port", port);
  ctx.report.note(fmt::format("server listening on 127.0.0.1:{}", port));
  server.start();
  std::vector<std::thread> io_pool;
  for (std::size_t i = 0; i < io_threads; ++i) {
    if (!faultline::start_thread(io_pool, [&io] { io.run(); })) break;
  }

  // With --fault (TCP), the clients dial the fault proxy in front of the server.
  // The proxy's sockets get the clients' buffer size, so the server's socket still fills up.
  const auto route = faultline::fault::route_tcp(ctx, port, "tcp", rcvbuf);
  std::vector<ClientResult> results(connections);
  std::vector<std::thread> clients;
  for (std::size_t c = 0; c < connections; ++c) {
    if (!faultline::start_thread(clients, [&, c] {
          run_client(route, frames, frame_bytes, rcvbuf, stall, read_delay, deadline, results[c]);
        })) {
      break;
    }
  }

  // The publisher: the application's event source, posting frames to each connection's strand
  // in bursts while that connection's earlier frames are still being written.
  const auto sessions = server.wait_sessions(connections, deadline);
  std::uint64_t posted = 0;
  for (std::size_t next = 0; next < frames && Clock::now() < deadline; next += burst) {
    for (std::size_t c = 0; c < sessions.size(); ++c) {
      for (std::size_t f = next; f < std::min(frames, next + burst); ++f) {
        auto frame = make_frame(frame_bytes, static_cast<std::uint32_t>(f),
                                sessions[c]->peer_port(), ctx.seed);
        asio::post(sessions[c]->executor(), [s = sessions[c], fr = std::move(frame)]() mutable {
          s->deliver(std::move(fr));
        });
        ++posted;
      }
    }
    if (burst_gap.count() > 0) std::this_thread::sleep_for(burst_gap);
  }

  for (auto& t : clients) t.join();
  server.stop();
  work.reset();
  for (auto& t : io_pool) t.join();

  ClientResult total;
  std::size_t complete = 0;
  std::size_t connected = 0;
  for (const auto& r : results) {
    total.frames_ok += r.frames_ok;
    total.frames_corrupt += r.frames_corrupt;
    total.bytes += r.bytes;
    total.frame_gap.merge(r.frame_gap);
    complete += r.complete ? 1 : 0;
    connected += r.connected ? 1 : 0;
  }
  std::uint64_t moved = 0;
  std::uint64_t pushed_while_writing = 0;
  for (const auto& s : sessions) {
    moved += s->front_moved_during_write();
    pushed_while_writing += s->pushes_during_write();
  }

  ctx.report.metric("connections", static_cast<double>(connected), "connections");
  ctx.report.metric("connections_complete", static_cast<double>(complete), "connections");
  ctx.report.metric("frames_posted", static_cast<double>(posted), "frames");
  ctx.report.metric("frames_ok", static_cast<double>(total.frames_ok), "frames");
  ctx.report.metric("front_moved_during_write", static_cast<double>(moved), "events");
  ctx.report.metric("pushes_during_write", static_cast<double>(pushed_while_writing), "frames");
  ctx.report.histogram("frame_gap", total.frame_gap, 1000.0, "us");
  ctx.report.observation(
      "corrupt_frame", total.frames_corrupt,
      fmt::format("{} of {} frames failed the checksum or sequence check; the "
                  "frame being written moved {} times mid-write",
                  total.frames_corrupt, total.frames_ok + total.frames_corrupt, moved));
  fmt::print(
      "{} {} async: port {}, {}/{} connections complete, {} frames ok, {} corrupt, front "
      "moved mid-write {} times\n",
      kSpec.id, ctx.variant, port, complete, connections, total.frames_ok, total.frames_corrupt,
      moved);
  faultline::fault::report_route(ctx, route);
  return 0;
}

int run(faultline::Context& ctx) {
  const bool fixed = ctx.is("fixed");
  if (ctx.params.text("mode") == "reference") {
    if (!ctx.faults.empty()) {
      throw std::invalid_argument(
          "--fault: mode=reference has no network to put faults on; use --set mode=async");
    }
    return fixed ? run_reference<FixedBatch>(ctx) : run_reference<BuggyBatch>(ctx);
  }
  return fixed ? run_async<FixedQueue>(ctx) : run_async<BuggyQueue>(ctx);
}

}  // namespace

int main(int argc, char** argv) {
  return faultline::scenario_main(argc, argv, kSpec, run);
}
