#include "servers/broadcast/broadcast_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "harness/probe/perturb.h"
#include "servers/broadcast/channel.h"

namespace faultline::broadcast {
namespace {
constexpr int kPollMs = 20;  // every wait re-checks stopping_ at least this often

[[noreturn]] void fail(int fd, const char* what) {
  const int err = errno;
  if (fd >= 0) ::close(fd);
  throw std::system_error(err, std::generic_category(), what);
}

// Binds 127.0.0.1:port (0: the kernel's choice) and returns the port it got in `port`.
int bind_local(int type, std::uint16_t& port) {
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(-1, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const int one = 1;  // a restarted server binds over its predecessor's TIME_WAIT connections
  if (type == SOCK_STREAM && ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
    fail(fd, "SO_REUSEADDR");
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail(fd, "bind");
  if (type == SOCK_STREAM && ::listen(fd, 1024) != 0) fail(fd, "listen");
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) fail(fd, "getsockname");
  port = ntohs(addr.sin_port);
  return fd;
}

std::string make_frame(const std::string& message, std::size_t payload_bytes) {
  std::string payload = message;
  payload.resize(std::max(payload_bytes, message.size()), '.');
  const auto n = static_cast<std::uint32_t>(payload.size());
  std::string frame = {static_cast<char>(n >> 24), static_cast<char>((n >> 16) & 0xFF),
                       static_cast<char>((n >> 8) & 0xFF), static_cast<char>(n & 0xFF)};
  return frame + payload;
}

struct Done {};
}  // namespace

faultline::Measures BroadcastStats::measures() const {
  return {{"broadcasts_completed", completed.load()},
          {"broadcasts_timed_out", timed_out.load()},
          {"pushes_ok", pushes_ok.load()},
          {"pushes_abandoned", pushes_abandoned.load()},
          {"clients_dropped", clients_dropped.load()},
          {"broadcast_requests", requests.load()},
          {"clients_accepted", clients.load()}};
}

struct BroadcastServer::Client {
  explicit Client(int f) : fd(f) {}
  ~Client() { ::close(fd); }
  const int fd;
  // One push at a time on a stream, or frames interleave. A flag under a mutex rather than a
  // std::timed_mutex: waits stay bounded, and TSan (gcc 12) does not model pthread_mutex_clocklock.
  std::mutex mutex;
  std::condition_variable released;
  bool pushing = false;
  std::atomic<bool> dead{false};
};

BroadcastServer::BroadcastServer(BroadcastOptions options) : options_(options) {
  // UDP takes TCP's number. With a kernel-chosen TCP port the UDP one may be taken (by a
  // caller's socket, say): then both are tried again on another number.
  for (int tries = options.port == 0 ? 20 : 1;; --tries) {
    tcp_port_ = options.port;
    tcp_fd_ = bind_local(SOCK_STREAM, tcp_port_);
    udp_port_ = tcp_port_;
    try {
      udp_fd_ = bind_local(SOCK_DGRAM, udp_port_);
      return;
    } catch (const std::system_error& e) {
      ::close(tcp_fd_);
      if (tries <= 1 || e.code().value() != EADDRINUSE) throw;
    }
  }
}

BroadcastServer::~BroadcastServer() {
  stop();
  ::close(tcp_fd_);
  ::close(udp_fd_);
}

void BroadcastServer::start() {
  accept_thread_ = std::thread([this] { accept_loop(); });
  udp_thread_ = std::thread([this] { udp_loop(); });
}

void BroadcastServer::stop(std::chrono::milliseconds timeout) {
  stopping_.store(true);
  if (accept_thread_.joinable()) accept_thread_.join();
  if (udp_thread_.joinable()) udp_thread_.join();
  std::unique_lock lock(mutex_);
  // Unblocks every push at once: a send on a shut-down socket fails with EPIPE.
  for (auto& c : clients_) ::shutdown(c->fd, SHUT_RDWR);
  changed_.wait_for(lock, timeout, [&] { return stats_.workers_pushing.load() == 0; });
  clients_.clear();  // the last owner of a Client closes its fd
}

std::string BroadcastServer::summary() const {
  return std::to_string(stats_.requests.load()) + " requests, " +
         std::to_string(stats_.timed_out.load()) + " timed out, " +
         std::to_string(stats_.clients.load()) + " clients accepted";
}

std::size_t BroadcastServer::client_count() const {
  std::lock_guard lock(mutex_);
  return clients_.size();
}

bool BroadcastServer::wait_for_clients(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return clients_.size() >= n; });
}

void BroadcastServer::accept_loop() {
  while (!stopping_.load()) {
    pollfd p{tcp_fd_, POLLIN, 0};
    if (::poll(&p, 1, kPollMs) <= 0) continue;
    const int fd = ::accept4(tcp_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) continue;
    if (options_.client_send_buffer > 0) {
      ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &options_.client_send_buffer,
                   sizeof options_.client_send_buffer);
    }
    std::lock_guard lock(mutex_);
    clients_.push_back(std::make_shared<Client>(fd));
    stats_.clients.fetch_add(1);
    changed_.notify_all();
  }
}

void BroadcastServer::udp_loop() {
  std::string buf(2048, '\0');
  while (!stopping_.load()) {
    pollfd p{udp_fd_, POLLIN, 0};
    if (::poll(&p, 1, kPollMs) <= 0) continue;
    sockaddr_in from{};
    socklen_t len = sizeof from;
    const ssize_t n =
        ::recvfrom(udp_fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n <= 0) continue;
    // One request at a time, as a UDP read loop calling Handle does; the reply says how it ended.
    // The reply says how it ended and which request it answers: "ok broadcast 3 to all users".
    const std::string request = buf.substr(0, static_cast<std::size_t>(n));
    const bool completed = handle(request);
    const std::string reply = (completed ? "ok " : "timeout ") + request;
    ::sendto(udp_fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
  }
}

bool BroadcastServer::handle(const std::string& message) {
  stats_.requests.fetch_add(1);
  const auto deadline = Clock::now() + options_.deadline;  // context.WithTimeout
  auto done = std::make_shared<Channel<Done>>(options_.completion_capacity);
  const auto push_until = options_.worker_stops_at_deadline ? deadline : Clock::time_point::max();
  stats_.workers_started.fetch_add(1);
  stats_.workers_pushing.fetch_add(1);
  std::thread([this, done, message, push_until] {
    run(message, push_until);
    {
      // After this block the worker never touches the server again: stop() may destroy it.
      std::lock_guard lock(mutex_);
      stats_.workers_pushing.fetch_sub(1);
      changed_.notify_all();
    }
    // ch <- struct{}{}: on a rendezvous channel whose receiver gave up, this never returns.
    FAULTLINE_PERTURB("broadcast.worker.before-done");  // the handler's deadline may pass here
    done->send(Done{});
  }).detach();  // go func() { ... }(): nobody joins a goroutine

  // select { case <-ch: case <-ctx.Done(): }
  if (done->receive_until(deadline)) {
    stats_.completed.fetch_add(1);
    return true;
  }
  stats_.timed_out.fetch_add(1);
  return false;
}

void BroadcastServer::run(const std::string& message, Clock::time_point push_until) {
  const std::string frame = make_frame(message, options_.push_bytes);
  std::vector<std::shared_ptr<Client>> targets;
  {
    std::lock_guard lock(mutex_);
    targets = clients_;
  }
  auto give_up = [&] { return stopping_.load() || Clock::now() >= push_until; };
  for (auto& c : targets) {
    if (c->dead.load()) continue;
    {
      std::unique_lock lock(c->mutex);
      while (c->pushing && !give_up()) {
        c->released.wait_for(lock, std::chrono::milliseconds(kPollMs));
      }
      if (c->pushing || give_up()) {
        stats_.pushes_abandoned.fetch_add(1);
        continue;
      }
      c->pushing = true;
    }
    std::size_t sent = 0;
    bool failed = false;
    while (sent < frame.size() && !failed) {
      FAULTLINE_PERTURB("broadcast.worker.send");
      const ssize_t n = ::send(c->fd, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        failed = true;
        break;
      }
      if (give_up()) break;
      pollfd p{c->fd, POLLOUT, 0};
      ::poll(&p, 1, kPollMs);  // a slow reader: wait for room, re-checking the deadline
    }
    if (sent == frame.size()) {
      stats_.pushes_ok.fetch_add(1);
    } else {
      stats_.pushes_abandoned.fetch_add(1);
      // A message cut in the middle leaves the stream unframed: the client must go.
      if (failed || sent > 0) drop(*c);
    }
    {  // a torn stream is marked dead before the next pusher may look
      std::lock_guard lock(c->mutex);
      c->pushing = false;
    }
    c->released.notify_one();
  }
}

void BroadcastServer::drop(Client& client) {
  if (client.dead.exchange(true)) return;
  ::shutdown(client.fd, SHUT_RDWR);  // the fd stays open (no reuse) until the Client is freed
  stats_.clients_dropped.fetch_add(1);
}

}  // namespace faultline::broadcast
