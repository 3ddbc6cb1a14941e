#include "servers/rpc/server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fstream>
#include <future>
#include <thread>

#include "servers/rpc/client.h"
#include "servers/rpc/messages.h"

namespace faultline::rpc {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

// A server on its own threads plus a client io_context on one thread, for one test.
class RpcFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    register_arith(server_);
    server_.handle("Test.Slow", [](const Request&) -> asio::awaitable<Reply> {
      asio::steady_timer t(co_await asio::this_coro::executor, 200ms);
      co_await t.async_wait(asio::use_awaitable);
      co_return Reply{Status::kOk, {}, "{}"};
    });
    server_.handle("Test.Deadline", [](const Request& req) -> asio::awaitable<Reply> {
      if (!req.deadline) co_return Reply{Status::kBadRequest, "no deadline", {}};
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(*req.deadline - req.received_at);
      co_return Reply{Status::kOk, {}, std::to_string(left.count())};
    });
    server_.start();
    io_thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    server_.stop();
    work_.reset();
    io_.stop();
    io_thread_.join();
  }

  DivideReply divide(Client& client, std::int64_t a, std::int64_t b, CallResult& result) {
    auto reply = std::make_shared<DivideReply>();
    result = client.call(
        kDivideMethod, encode_divide_args({a, b}),
        [reply](const std::string& body) { decode_divide_reply(body, *reply); }, {}, 5s);
    return *reply;
  }

  // Opens a raw connection to the server (no client, no reader).
  tcp::socket raw() {
    tcp::socket s(raw_io_);
    s.connect(tcp::endpoint(asio::ip::address_v4::loopback(), server_.port()));
    return s;
  }

  Server server_{ServerOptions{"127.0.0.1", 0, 2, 4096}};
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::thread io_thread_;
  asio::io_context raw_io_;
};

TEST_F(RpcFixture, BindsAnEphemeralLoopbackPort) {
  EXPECT_NE(server_.port(), 0);
}

TEST_F(RpcFixture, DivideAnswersQuotientAndRemainder) {
  auto client = Client::dial(io_, server_.port());
  CallResult r;
  DivideReply reply = divide(*client, 10, 3, r);
  ASSERT_EQ(r.outcome, CallOutcome::kReplied);
  ASSERT_EQ(r.status, Status::kOk) << r.error;
  EXPECT_EQ(reply.a, 10);
  EXPECT_EQ(reply.b, 3);
  EXPECT_EQ(reply.quotient.at("Quo"), 3);
  EXPECT_EQ(reply.quotient.at("Rem"), 1);
}

TEST_F(RpcFixture, DivideByZeroIsAnError) {
  auto client = Client::dial(io_, server_.port());
  CallResult r;
  DivideReply reply = divide(*client, 1, 0, r);
  EXPECT_EQ(r.outcome, CallOutcome::kReplied);
  EXPECT_EQ(r.status, Status::kError);
  EXPECT_EQ(r.error, "divide by zero");
  EXPECT_TRUE(reply.quotient.empty());
}

TEST_F(RpcFixture, UnknownMethodIsReported) {
  auto client = Client::dial(io_, server_.port());
  auto r = client->call("Nope.Nothing", "{}", nullptr, {}, 5s);
  EXPECT_EQ(r.status, Status::kUnknownMethod);
}

TEST_F(RpcFixture, TimeoutHeaderBecomesTheServersDeadline) {
  auto client = Client::dial(io_, server_.port());
  std::string left;
  auto r = client->call(
      "Test.Deadline", "{}", [&](const std::string& b) { left = b; },
      CallOptions{std::chrono::microseconds(1'500'000), std::nullopt}, 5s);
  ASSERT_EQ(r.status, Status::kOk) << r.error;
  EXPECT_EQ(left, "1500");
}

TEST_F(RpcFixture, TimedOutCallDropsTheLateReply) {
  auto client = Client::dial(io_, server_.port());
  bool decoded = false;
  auto r = client->call(
      "Test.Slow", "{}", [&](const std::string&) { decoded = true; }, {}, 20ms);
  EXPECT_EQ(r.outcome, CallOutcome::kTimedOut);
  EXPECT_EQ(client->pending(), 0u);
  // The response arrives about 180 ms later and must be dropped, not decoded.
  for (int i = 0; i < 200 && client->stats().late_replies_dropped == 0; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(client->stats().late_replies_dropped, 1u);
  EXPECT_FALSE(decoded);
}

TEST_F(RpcFixture, CloseFailsPendingCalls) {
  auto client = Client::dial(io_, server_.port());
  auto call = client->go("Test.Slow", "{}", nullptr);
  client->close();
  ASSERT_TRUE(call->wait_until(std::chrono::steady_clock::now() + 5s));
  EXPECT_EQ(call->result().outcome, CallOutcome::kClosed);
}

TEST_F(RpcFixture, OversizedFrameGetsBadFrameAndClose) {
  auto s = raw();
  std::uint8_t prefix[4] = {0x7F, 0xFF, 0xFF, 0xFF};  // 2 GiB: never allocated
  asio::write(s, asio::buffer(prefix));
  std::string reply(256, '\0');
  boost::system::error_code ec;
  std::size_t n = s.read_some(asio::buffer(reply), ec);
  ASSERT_FALSE(ec) << ec.message();
  Frame f = decode_frame(reply.substr(0, n));
  EXPECT_EQ(f.status, Status::kBadFrame);
  EXPECT_NE(f.error.find("exceeds"), std::string::npos) << f.error;
  // Then the server closes the connection.
  s.read_some(asio::buffer(reply), ec);
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_EQ(server_.stats().bad_frames, 1u);
}

TEST_F(RpcFixture, GarbageGetsBadFrame) {
  auto s = raw();
  std::string junk = std::string("\x00\x00\x00\x08", 4) + "GARBAGE!";
  asio::write(s, asio::buffer(junk));
  std::string reply(256, '\0');
  boost::system::error_code ec;
  std::size_t n = s.read_some(asio::buffer(reply), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(decode_frame(reply.substr(0, n)).status, Status::kBadFrame);
}

TEST_F(RpcFixture, SurvivesClientsThatVanishMidFrameAndKeepsServingOthers) {
  auto survivor = Client::dial(io_, server_.port());
  for (int i = 0; i < 20; ++i) {
    auto s = raw();
    std::string half = encode_frame(
        Frame{FrameKind::kRequest, 1, "Arith.Divide", {}, {}, {}, {}, encode_divide_args({10, 3})});
    half.resize(half.size() / 2);
    asio::write(s, asio::buffer(half));
    if (i % 2 == 0) {
      s.set_option(asio::socket_base::linger(true, 0));  // a reset instead of a FIN
    }
    s.close();
  }
  CallResult r;
  DivideReply reply = divide(*survivor, 7, 2, r);
  ASSERT_EQ(r.status, Status::kOk) << r.error;
  EXPECT_EQ(reply.quotient.at("Quo"), 3);
  auto fresh = Client::dial(io_, server_.port());
  reply = divide(*fresh, 9, 4, r);
  ASSERT_EQ(r.status, Status::kOk) << r.error;
  EXPECT_EQ(reply.quotient.at("Rem"), 1);
  for (int i = 0; i < 200 && server_.stats().peer_closed < 20; ++i)
    std::this_thread::sleep_for(5ms);
  EXPECT_GE(server_.stats().peer_closed, 20u);
}

// The reader serves whatever has arrived: a frame that comes a byte at a time is served once
// whole, and several frames in one write are each answered, in order, the inline replies of one
// read going out together.
TEST_F(RpcFixture, FramesSplitOrJoinedAcrossReadsAreEachServed) {
  auto request = [](std::uint64_t id, std::int64_t a) {
    return encode_frame(
        Frame{FrameKind::kRequest, id, "Arith.Divide", {}, {}, {}, {}, encode_divide_args({a, 7})});
  };
  auto read_reply = [](tcp::socket& s) {
    std::array<std::uint8_t, kPrefixBytes> prefix{};
    asio::read(s, asio::buffer(prefix));
    std::vector<std::uint8_t> payload(decode_prefix(prefix));
    asio::read(s, asio::buffer(payload));
    return decode_payload(payload);
  };
  auto s = raw();
  const timeval five_seconds{5, 0};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &five_seconds, sizeof five_seconds);
  const std::string one = request(41, 50);
  for (char c : one) {
    asio::write(s, asio::buffer(&c, 1));
    std::this_thread::sleep_for(1ms);
  }
  Frame reply = read_reply(s);
  EXPECT_EQ(reply.call_id, 41u);
  DivideReply d;
  decode_divide_reply(reply.body, d);
  EXPECT_EQ(d.quotient.at("Quo"), 7);

  std::string joined;
  for (std::uint64_t id = 1; id <= 30; ++id) joined += request(id, static_cast<std::int64_t>(id));
  asio::write(s, asio::buffer(joined));
  for (std::uint64_t id = 1; id <= 30; ++id) {
    reply = read_reply(s);
    ASSERT_EQ(reply.call_id, id);
    ASSERT_EQ(reply.status, Status::kOk) << reply.error;
    DivideReply r;
    decode_divide_reply(reply.body, r);
    EXPECT_EQ(r.quotient.at("Rem"), static_cast<std::int64_t>(id) % 7);
  }
}

// Client::async_go from a coroutine: the reply is decoded, then the coroutine resumes with the
// result; a second call on a closed client completes as closed instead of hanging.
TEST_F(RpcFixture, AsyncGoResumesACoroutineWithTheResult) {
  auto client = Client::dial(io_, server_.port());
  std::promise<std::pair<CallResult, std::int64_t>> got;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        DivideReply reply;
        CallResult r = co_await client->async_go(
            kDivideMethod, encode_divide_args({22, 7}),
            [&reply](const std::string& body) { decode_divide_reply(body, reply); }, {},
            asio::use_awaitable);
        got.set_value({r, reply.quotient.count("Quo") ? reply.quotient.at("Quo") : -1});
      },
      asio::detached);
  auto future = got.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  auto [result, quo] = future.get();
  EXPECT_EQ(result.outcome, CallOutcome::kReplied);
  EXPECT_EQ(result.status, Status::kOk) << result.error;
  EXPECT_EQ(quo, 3);

  client->close();
  std::promise<CallResult> closed;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        co_await asio::post(io_, asio::use_awaitable);  // after the close ran
        closed.set_value(
            co_await client->async_go("Test.Slow", "{}", nullptr, {}, asio::use_awaitable));
      },
      asio::detached);
  auto closed_future = closed.get_future();
  ASSERT_EQ(closed_future.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(closed_future.get().outcome, CallOutcome::kClosed);
}

TEST_F(RpcFixture, ManyCallsOnOneConnectionAllComplete) {
  auto client = Client::dial(io_, server_.port());
  std::vector<std::shared_ptr<Call>> calls;
  for (int i = 1; i <= 100; ++i) {
    calls.push_back(client->go(kDivideMethod, encode_divide_args({i, 7}), nullptr));
  }
  for (auto& c : calls) {
    ASSERT_TRUE(c->wait_until(std::chrono::steady_clock::now() + 5s));
    EXPECT_EQ(c->result().status, Status::kOk);
  }
  EXPECT_EQ(client->stats().replies, 100u);
}

}  // namespace
}  // namespace faultline::rpc

namespace faultline::rpc {
namespace {

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// What peers merely promise costs the server nothing: 200 connections each announce a 1 MiB
// frame and send one byte of it. Reading the whole announced payload at once used to raise the
// server's memory by ~1 MiB a connection (302 MiB for 300 in the audit).
TEST(RpcServerBounds, PromisedBytesAreNotAllocated) {
  Server server(ServerOptions{"127.0.0.1", 0, 2, kMaxFrameBytes});
  server.start();
  asio::io_context io;
  std::vector<tcp::socket> peers;
  const std::size_t before = resident_bytes();
  for (int i = 0; i < 200; ++i) {
    peers.emplace_back(io);
    peers.back().connect(tcp::endpoint(asio::ip::address_v4::loopback(), server.port()));
    const std::uint8_t promise[5] = {0x00, 0x10, 0x00, 0x00, 0xF1};  // 1 MiB, then one byte
    asio::write(peers.back(), asio::buffer(promise));
  }
  for (int i = 0; i < 200 && server.stats().accepted < 200; ++i) std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(100ms);  // let every connection read its byte
  const std::size_t grown = resident_bytes() - std::min(before, resident_bytes());
  EXPECT_LT(grown, 40u << 20) << "the server holds " << (grown >> 20) << " MiB for 200 bytes";
  server.stop();
}

// Connections beyond the cap are closed on accept; a frame begun and never finished is closed
// when its time runs out. Client sockets get a receive timeout so that a failure is a failed
// check, never a hang.
TEST(RpcServerBounds, ConnectionCapAndFrameDeadline) {
  ServerOptions options{"127.0.0.1", 0, 2, kMaxFrameBytes};
  options.max_connections = 3;
  options.frame_read_timeout = 200ms;
  Server server(options);
  register_arith(server);
  server.start();
  asio::io_context io;
  auto dial = [&] {
    tcp::socket s(io);
    s.connect(tcp::endpoint(asio::ip::address_v4::loopback(), server.port()));
    const timeval five_seconds{5, 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &five_seconds, sizeof five_seconds);
    return s;
  };
  std::vector<tcp::socket> held;
  for (int i = 0; i < 3; ++i) held.push_back(dial());
  for (int i = 0; i < 400 && server.stats().accepted < 3; ++i) std::this_thread::sleep_for(5ms);
  tcp::socket over = dial();  // the fourth: closed at once
  char byte = 0;
  boost::system::error_code ec;
  over.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::eof) << ec.message();
  EXPECT_EQ(server.stats().refused, 1u);

  held.front().close();  // room for one more, once the server has seen the close
  for (int i = 0; i < 400 && server.stats().peer_closed < 1; ++i) std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(20ms);
  tcp::socket staller = dial();
  const std::uint8_t promise[5] = {0x00, 0x00, 0x01, 0x00, 0xF1};  // 256 bytes, then one
  asio::write(staller, asio::buffer(promise));
  staller.read_some(asio::buffer(&byte, 1), ec);  // closed when its 200 ms ran out
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  for (int i = 0; i < 400 && server.stats().stalled < 1; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(server.stats().stalled, 1u);
  server.stop();
}

}  // namespace
}  // namespace faultline::rpc
