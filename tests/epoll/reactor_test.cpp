// The epoll reactor under partial reads and writes, coalesced frames, back-pressure, half-closes,
// protocol errors, peers that vanish, and a listener closed under it.
#include "servers/epoll/reactor.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "servers/epoll/frame.h"
#include "test_util.h"

namespace faultline::epoll {
namespace {
using namespace std::chrono_literals;
using test::connect_to;
using test::recv_n;
using test::send_all;

std::string frame(std::string_view payload) {
  std::string out;
  append_frame(out, payload);
  return out;
}
std::string reply(std::string_view payload) {
  std::string out;
  append_reply(out, payload);
  return out;
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 2000ms) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

class ReactorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto listener = Listener::open("127.0.0.1", 0, false);
    port_ = listener->port();
    reactor_ = std::make_unique<Reactor>(listener->fd(), ReactorOptions{});
    reactor_->own(std::move(listener));
    reactor_->start();
  }
  std::uint16_t port_ = 0;
  std::unique_ptr<Reactor> reactor_;
};

TEST_F(ReactorTest, EchoesAFrameSentOneByteAtATime) {
  const int fd = connect_to(port_);
  ASSERT_GE(fd, 0);
  const std::string wire = frame("split into single bytes");
  for (char c : wire) {
    ASSERT_TRUE(send_all(fd, std::string(1, c)));
    std::this_thread::sleep_for(1ms);  // each byte arrives as its own read
  }
  EXPECT_EQ(recv_n(fd, reply("split into single bytes").size()), reply("split into single bytes"));
  ::close(fd);
}

TEST_F(ReactorTest, EchoesCoalescedFramesInOrder) {
  const int fd = connect_to(port_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, frame("one") + frame("two") + frame("three")));
  const std::string expected = reply("one") + reply("two") + reply("three");
  EXPECT_EQ(recv_n(fd, expected.size()), expected);
  ::close(fd);
}

TEST_F(ReactorTest, EchoesAMaximalFrameThroughPartialWrites) {
  const int fd = connect_to(port_);
  ASSERT_GE(fd, 0);
  int small = 4096;  // small buffers force the reactor through EAGAIN and EPOLLOUT
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  std::string payload(kMaxFrameBytes, 'x');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(send_all(fd, frame(payload)));
  std::this_thread::sleep_for(50ms);  // let the reply pile up against the small window
  EXPECT_EQ(recv_n(fd, reply(payload).size(), 5000), reply(payload));
  ::close(fd);
}

TEST_F(ReactorTest, StopsReadingFromAPeerThatDoesNotReadItsReplies) {
  const int fd = connect_to(port_);
  ASSERT_GE(fd, 0);
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  const std::string one = frame(std::string(1000, 'q'));
  // Send without reading until the server stops taking bytes: its buffers are bounded, so this
  // must end well before the 64 MiB cap of this loop.
  std::size_t sent_frames = 0;
  std::size_t partial = 0;
  auto stalled_since = std::chrono::steady_clock::now();
  while (sent_frames * one.size() < 64u << 20) {
    const ssize_t n = ::send(fd, one.data() + partial, one.size() - partial, MSG_NOSIGNAL);
    if (n > 0) {
      partial += static_cast<std::size_t>(n);
      if (partial == one.size()) {
        ++sent_frames;
        partial = 0;
      }
      stalled_since = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - stalled_since > 300ms) {
      break;
    }
  }
  EXPECT_LT(sent_frames * one.size(), 16u << 20) << "the server kept reading without bound";
  // Finish the partial frame, then read every reply: none may be lost.
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  std::thread finisher([&] {
    if (partial > 0) send_all(fd, one.substr(partial));
  });
  const std::size_t frames = sent_frames + (partial > 0 ? 1 : 0);
  const std::string expected_one = reply(std::string(1000, 'q'));
  const std::string got = recv_n(fd, frames * expected_one.size(), 10000);
  finisher.join();
  ASSERT_EQ(got.size(), frames * expected_one.size());
  for (std::size_t i = 0; i < frames; ++i) {
    ASSERT_EQ(got.compare(i * expected_one.size(), expected_one.size(), expected_one), 0) << i;
  }
  ::close(fd);
}

TEST_F(ReactorTest, RepliesToEveryFrameThenClosesAfterAHalfClose) {
  const int fd = connect_to(port_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, frame("a") + frame("b")));
  ::shutdown(fd, SHUT_WR);
  const std::string expected = reply("a") + reply("b");
  EXPECT_EQ(recv_n(fd, expected.size()), expected);
  EXPECT_TRUE(test::peer_closed(fd));
  ::close(fd);
  EXPECT_TRUE(eventually([&] { return reactor_->open_connections() == 0; }));
}

TEST_F(ReactorTest, ClosesAConnectionThatAnnouncesAnOversizedFrame) {
  const int fd = connect_to(port_);
  ASSERT_GE(fd, 0);
  std::string bad = frame("x");
  bad[0] = '\x7f';  // a length far above kMaxFrameBytes
  ASSERT_TRUE(send_all(fd, bad));
  EXPECT_TRUE(test::peer_closed(fd));
  EXPECT_EQ(reactor_->stats().protocol_errors.load(), 1u);
  ::close(fd);
}

TEST_F(ReactorTest, SurvivesPeersThatVanishMidFrameAndMidReply) {
  for (int i = 0; i < 20; ++i) {
    const int fd = connect_to(port_);
    ASSERT_GE(fd, 0);
    // Half a frame, or a pile of frames whose replies are never read, then an RST.
    const std::string wire = (i % 2) ? frame(std::string(100, 'h')).substr(0, 50)
                                     : frame(std::string(60000, 'r')) + frame("tail");
    ASSERT_TRUE(send_all(fd, wire));
    linger hard{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    ::close(fd);  // RST
  }
  EXPECT_TRUE(eventually([&] { return reactor_->open_connections() == 0; }));
  // And it still serves.
  const int fd = connect_to(port_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, frame("still here")));
  EXPECT_EQ(recv_n(fd, reply("still here").size()), reply("still here"));
  ::close(fd);
}

TEST(ReactorListener, OwnedListenerClosesWithTheReactor) {
  std::uint16_t port = 0;
  {
    auto listener = Listener::open("127.0.0.1", 0, false);
    port = listener->port();
    Reactor reactor(listener->fd());
    reactor.own(std::move(listener));
    reactor.start();
    const int fd = connect_to(port);
    EXPECT_GE(fd, 0);
    ::close(fd);
  }
  EXPECT_EQ(connect_to(port), -1);  // refused: the port closed with its owner
}

TEST(ReactorListener, DetectsItsListenerClosedAndItsNumberReused) {
  auto listener = Listener::open("127.0.0.1", 0, false);
  const int number = listener->fd();
  const std::uint16_t port = listener->port();
  Reactor reactor(number);  // not owned: the number is only borrowed
  reactor.start();
  listener.reset();  // the owner goes away while the reactor polls the number
  EXPECT_TRUE(eventually([&] { return reactor.stats().listener_gone.load() >= 1; }));
  EXPECT_EQ(reactor.stats().fd_reuse.load(), 0u);
  // The lowest free number goes to the next socket: here, a client socket.
  const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(client, number) << "another thread took the number first; the check needs it free";
  EXPECT_TRUE(eventually([&] { return reactor.stats().fd_reuse.load() == 1; }));
  reactor.stop();
  ::close(client);
  EXPECT_EQ(connect_to(port), -1);  // and the port is closed: refused
}

}  // namespace
}  // namespace faultline::epoll
