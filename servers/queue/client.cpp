// The write-queue server's slow client (load.h): connects, stalls so the server's frames pile
// up, then reads and checks them with a pause after every read.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "harness/probe/resource_tally.h"
#include "servers/queue/frame.h"
#include "servers/queue/load.h"

namespace faultline::queue {

void run_client(const Dial& dial, const LoadOptions& o, Clock::time_point deadline,
                ClientResult& out) {
  const std::size_t frames = o.frames;
  const std::size_t size = o.frame_bytes;
  const int rcvbuf = o.rcvbuf_bytes;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    faultline::resource_tally().note_fd(errno, "socket (" + o.name + " client)");
    return;
  }
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  timeval tv{0, 100'000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(dial.port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return;
  }
  sockaddr_in local{};
  socklen_t local_len = sizeof local;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len);
  // The server names a connection by its peer port: this socket's own port, or through a proxy
  // the port of the proxy's connection to the server.
  const auto server_side = dial.server_side_port(ntohs(local.sin_port));
  if (!server_side) {
    ::close(fd);
    return;
  }
  out.connected = true;
  const std::uint16_t conn = *server_side;
  // The stalled consumer: the server's frames pile up in this socket until the window closes.
  std::this_thread::sleep_for(std::min<Clock::duration>(o.client_stall, deadline - Clock::now()));
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
        if (out.frames_corrupt++ == 0) out.first_corrupt = Clock::now();
      }
      const auto now = Clock::now();
      out.frame_gap.record(static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(now - last).count()));
      last = now;
    }
    std::memmove(buf.data(), buf.data() + off, have - off);
    have -= off;
    if (o.client_read_delay.count() > 0) std::this_thread::sleep_for(o.client_read_delay);
  }
  out.complete = seq == frames;
  ::close(fd);
}

}  // namespace faultline::queue
