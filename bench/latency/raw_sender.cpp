#include "bench/latency/raw_sender.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "servers/rpc/frame.h"
#include "servers/rpc/messages.h"

namespace faultline::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kBatch = 32;  // requests per write

int dial(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("raw sender: connect: " + why);
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// kBatch Divide requests, one buffer; the server answers each whatever its call id.
std::string batch_of_requests() {
  std::string out;
  for (int i = 0; i < kBatch; ++i) {
    rpc::Frame f;
    f.kind = rpc::FrameKind::kRequest;
    f.call_id = static_cast<std::uint64_t>(i + 1);
    f.method = std::string(rpc::kDivideMethod);
    f.body = rpc::encode_divide_args({10, 3});
    out += rpc::encode_frame(f);
  }
  return out;
}

struct Lane {
  int fd = -1;
  std::atomic<std::uint64_t> sent{0}, replied{0};
};

void write_until(Lane& lane, const std::string& batch, int window, Clock::time_point end) {
  while (Clock::now() < end) {
    if (lane.sent.load() + kBatch > lane.replied.load() + static_cast<std::uint64_t>(window)) {
      std::this_thread::yield();
      continue;
    }
    std::size_t off = 0;
    while (off < batch.size()) {
      const ssize_t n = ::send(lane.fd, batch.data() + off, batch.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<std::size_t>(n);
    }
    lane.sent.fetch_add(kBatch);
  }
}

// Counts whole frames by their 4-byte big-endian length prefixes.
void read_until_done(Lane& lane, const std::atomic<bool>& writing) {
  std::vector<char> buf(1 << 16);
  std::uint64_t need = 0;  // bytes left of the current frame's payload
  std::size_t prefix_have = 0;
  unsigned char prefix[4];
  while (writing.load() || lane.replied.load() < lane.sent.load()) {
    const ssize_t n = ::recv(lane.fd, buf.data(), buf.size(), 0);
    if (n <= 0) return;
    for (ssize_t i = 0; i < n;) {
      if (need > 0) {
        const auto take = std::min<std::uint64_t>(need, static_cast<std::uint64_t>(n - i));
        need -= take;
        i += static_cast<ssize_t>(take);
        if (need == 0) lane.replied.fetch_add(1);
        continue;
      }
      prefix[prefix_have++] = static_cast<unsigned char>(buf[static_cast<std::size_t>(i++)]);
      if (prefix_have == 4) {
        need = (std::uint64_t{prefix[0]} << 24) | (std::uint64_t{prefix[1]} << 16) |
               (std::uint64_t{prefix[2]} << 8) | prefix[3];
        prefix_have = 0;
        if (need == 0) lane.replied.fetch_add(1);
      }
    }
  }
}

}  // namespace

RawResult run_raw_sender(std::uint16_t port, int connections, int window,
                         std::chrono::milliseconds duration) {
  std::vector<Lane> lanes(static_cast<std::size_t>(connections));
  for (auto& lane : lanes) lane.fd = dial(port);
  const std::string batch = batch_of_requests();
  std::atomic<bool> writing{true};
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + duration;
  std::vector<std::thread> threads;
  for (auto& lane : lanes) {
    threads.emplace_back([&] { write_until(lane, batch, window, end); });
    threads.emplace_back([&] { read_until_done(lane, writing); });
  }
  for (std::size_t i = 0; i < threads.size(); i += 2) threads[i].join();
  writing.store(false);
  const Clock::time_point stop_writing = Clock::now();
  RawResult r;
  for (auto& lane : lanes) r.replied += lane.replied.load();  // replies within the run
  // The readers finish what is outstanding; a reply that never comes ends at the shutdown.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  for (auto& lane : lanes) ::shutdown(lane.fd, SHUT_RDWR);
  for (std::size_t i = 1; i < threads.size(); i += 2) threads[i].join();
  for (auto& lane : lanes) {
    r.sent += lane.sent.load();
    r.late_replies += lane.replied.load();
    ::close(lane.fd);
  }
  r.late_replies -= r.replied;
  r.seconds = std::chrono::duration<double>(stop_writing - start).count();
  return r;
}

}  // namespace faultline::bench
