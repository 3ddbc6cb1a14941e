#include "servers/epoll/reactor.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <system_error>

#include "harness/probe/resource_tally.h"
#include "servers/epoll/frame.h"

namespace faultline::epoll {
namespace {
constexpr std::size_t kInputCap = kPrefixBytes + kMaxFrameBytes;  // one maximal frame
constexpr int kMaxEvents = 256;
constexpr int kAcceptsPerEvent = 256;  // then back to epoll_wait, so connections get a turn
constexpr int kReadsPerEvent = 4;      // level-triggered: the rest is read on the next turn

[[noreturn]] void fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// The inode of the socket an fd names, or 0 when the number names nothing (EBADF).
ino_t inode_of(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return 0;
  return st.st_ino;
}
}  // namespace

faultline::Measures ReactorStats::measures() const {
  return {{"server_accepted", accepted.load()},
          {"server_frames_echoed", frames_echoed.load()},
          {"server_listener_gone", listener_gone.load()},
          {"server_fd_reuse", fd_reuse.load()}};
}

struct Reactor::Connection {
  int fd;
  std::string in;   // unparsed input: at most kInputCap bytes
  std::string out;  // replies not yet sent, from out_sent on
  std::size_t out_sent = 0;
  bool peer_done = false;      // the peer closed its sending side (EOF / EPOLLRDHUP)
  std::uint32_t interest = 0;  // the event mask registered with epoll
  std::size_t pending_out() const { return out.size() - out_sent; }
};

Reactor::Reactor(int listener_fd, ReactorOptions options)
    : listener_fd_(listener_fd), options_(options) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(listener_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    fail("getsockname(listener)");
  }
  if (addr.ss_family == AF_INET) {
    port_ = ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  }
  listener_inode_ = inode_of(listener_fd_);
  last_seen_inode_ = listener_inode_;
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) {
    resource_tally().note_fd(errno, "epoll_create1");
    fail("epoll_create1");
  }
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    resource_tally().note_fd(errno, "eventfd");
    ::close(epoll_fd_);
    fail("eventfd");
  }
  // Held so that accept4 failing with EMFILE can still take the connection off the backlog and
  // close it (see on_accept); -1 when even this one could not be had (it is retried there).
  reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) fail("epoll_ctl(wake)");
  ev.data.fd = listener_fd_;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listener_fd_, &ev) != 0) fail("epoll_ctl(listener)");
}

Reactor::~Reactor() {
  stop();
  for (auto& [fd, c] : connections_) ::close(fd);
  connections_.clear();
  ::close(wake_fd_);
  ::close(epoll_fd_);
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
  // owned_listener_ (if any) closes the listening socket after this body: the reactor has
  // stopped polling it by then.
}

void Reactor::start() {
  thread_ = std::thread([this] { loop(); });
}

void Reactor::stop() {
  stopping_.store(true);
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void Reactor::loop() {
  std::array<epoll_event, kMaxEvents> events{};
  while (!stopping_.load()) {
    const int n = ::epoll_wait(epoll_fd_, events.data(), kMaxEvents, options_.tick_ms);
    if (n < 0 && errno != EINTR) break;
    if (paused_listener_) {  // left out of the set for this wait by shed_connection()
      paused_listener_ = false;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = listener_fd_;
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listener_fd_, &ev);
    }
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_fd_) continue;  // stopping_ is checked by the loop
      // The reactor knows its listener only by number: whatever socket holds that number now
      // is served as the listener.
      if (fd == listener_fd_) {
        on_accept();
      } else {
        on_connection(fd, events[i].events);
      }
    }
    // A listener that was closed under the reactor leaves the epoll set silently; the reactor
    // keeps the number and looks at it on every turn, as a health check would.
    check_listener(0);
  }
}

void Reactor::on_accept() {
  for (int i = 0; i < kAcceptsPerEvent; ++i) {
    const int fd = ::accept4(listener_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      stats_.accept_errors.fetch_add(1);
      if (resource_tally().note_fd(errno, "accept4")) {
        shed_connection();
        return;
      }
      check_listener(errno);
      return;
    }
    stats_.accepted.fetch_add(1);
    if (connections_.size() >= options_.max_connections) {
      stats_.rejected.fetch_add(1);
      ::close(fd);
      continue;
    }
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    c->interest = EPOLLIN | EPOLLRDHUP;
    epoll_event ev{};
    ev.events = c->interest;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(fd);
      stats_.closed.fetch_add(1);
      continue;
    }
    connections_.emplace(fd, std::move(c));
    open_.fetch_add(1);
  }
}

// Out of fds, the pending connection stays in the backlog and the level-triggered listener stays
// readable: the loop would spin on accept4 while the client waits for a reply that never comes.
// The reserve fd is given up to accept that connection and close it at once (the client sees
// the close), then taken back; without a reserve the listener is left out of the epoll set for
// a tick instead, so the loop sleeps rather than spins.
void Reactor::shed_connection() {
  if (reserve_fd_ >= 0) {
    ::close(reserve_fd_);
    const int fd = ::accept4(listener_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      ::close(fd);
      stats_.shed.fetch_add(1);
    }
    reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    return;
  }
  reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listener_fd_, nullptr);
  paused_listener_ = true;
}

void Reactor::check_listener(int accept_errno) {
  // What the number names now: the listener (same inode, listening), nothing (closed), or some
  // other socket the kernel gave the number to after the listener was closed.
  const ino_t inode = inode_of(listener_fd_);
  int accepting = 0;
  socklen_t len = sizeof accepting;
  const bool is_socket =
      ::getsockopt(listener_fd_, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == 0;
  if (inode == 0) {
    if (last_seen_inode_ != 0) stats_.listener_gone.fetch_add(1);
    last_seen_inode_ = 0;
    return;
  }
  const bool reused = inode != listener_inode_ || !is_socket || accepting == 0 ||
                      accept_errno == ENOTSOCK || accept_errno == EINVAL;
  if (reused && inode != last_seen_inode_) {  // once per socket
    stats_.fd_reuse.fetch_add(1);
    stats_.first_fd_reuse.mark();
  }
  last_seen_inode_ = inode;
}

void Reactor::on_connection(int fd, std::uint32_t events) {
  auto it = connections_.find(fd);
  if (it == connections_.end()) return;
  Connection& c = *it->second;
  if (events & EPOLLERR) {
    stats_.resets.fetch_add(1);
    close_connection(fd);
    return;
  }
  bool ok = true;
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) && (c.interest & EPOLLIN)) ok = read_some(c);
  // Parse and flush until neither makes progress: a drained output may let parsing resume.
  for (int round = 0; ok && round < 4; ++round) {
    const std::size_t before_in = c.in.size();
    const std::size_t before_out = c.pending_out();
    ok = parse(c) && flush(c);
    if (c.in.size() == before_in && c.pending_out() == before_out) break;
  }
  if (!ok) {
    close_connection(fd);
    return;
  }
  // A peer that closed its side gets every reply to its whole frames, then the connection ends;
  // a partial frame left at EOF is dropped.
  const bool whole_frame_left =
      c.in.size() >= kPrefixBytes && c.in.size() >= kPrefixBytes + read_prefix(c.in.data());
  if (c.peer_done && c.pending_out() == 0 && !whole_frame_left) {
    close_connection(fd);
    return;
  }
  update_interest(c);
}

bool Reactor::read_some(Connection& c) {
  std::array<char, 16 * 1024> buf{};
  for (int i = 0; i < kReadsPerEvent && c.in.size() < kInputCap; ++i) {
    const std::size_t room = std::min(buf.size(), kInputCap - c.in.size());
    const ssize_t n = ::recv(c.fd, buf.data(), room, 0);
    if (n > 0) {
      c.in.append(buf.data(), static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) {
      c.peer_done = true;
      return true;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
    stats_.resets.fetch_add(1);  // ECONNRESET and friends: the peer vanished
    return false;
  }
  return true;
}

bool Reactor::parse(Connection& c) {
  // pending_out() <= max_output_bytes, as a bound on the size of `out`.
  const std::size_t out_limit = options_.max_output_bytes > SIZE_MAX - c.out_sent
                                    ? SIZE_MAX
                                    : c.out_sent + options_.max_output_bytes;
  const FrameScan scan = scan_frames(c.in, c.out, out_limit);
  stats_.frames_echoed.fetch_add(scan.frames);
  if (scan.bad_prefix) {
    stats_.protocol_errors.fetch_add(1);
    return false;
  }
  c.in.erase(0, scan.consumed);
  return true;
}

bool Reactor::flush(Connection& c) {
  while (c.pending_out() > 0) {
    const ssize_t n = ::send(c.fd, c.out.data() + c.out_sent, c.pending_out(), MSG_NOSIGNAL);
    if (n >= 0) {
      c.out_sent += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    stats_.resets.fetch_add(1);  // EPIPE / ECONNRESET: the peer is gone
    return false;
  }
  if (c.pending_out() == 0) {
    c.out.clear();
    c.out_sent = 0;
  } else if (c.out_sent > c.out.size() / 2) {
    c.out.erase(0, c.out_sent);  // keep the buffer from creeping
    c.out_sent = 0;
  }
  return true;
}

void Reactor::update_interest(Connection& c) {
  std::uint32_t want = 0;
  if (!c.peer_done && c.in.size() < kInputCap && c.pending_out() <= options_.max_output_bytes) {
    want |= EPOLLIN | EPOLLRDHUP;
  }
  if (c.pending_out() > 0) want |= EPOLLOUT;
  if (want == c.interest) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.fd = c.fd;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev) == 0) c.interest = want;
}

void Reactor::close_connection(int fd) {
  // close() also drops the fd from the epoll set (this process holds no other reference).
  ::close(fd);
  connections_.erase(fd);
  open_.fetch_sub(1);
  stats_.closed.fetch_add(1);
}

}  // namespace faultline::epoll
