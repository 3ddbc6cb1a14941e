// Benchmarks of the RPC stack (servers/rpc). The server and the client run in this process on
// their own io_context threads (2 each), over loopback; figures are from a shared 2-core machine.
#include <benchmark/benchmark.h>

#include <boost/asio/executor_work_guard.hpp>
#include <thread>
#include <vector>

#include "servers/rpc/client.h"
#include "servers/rpc/messages.h"
#include "servers/rpc/server.h"

namespace {

using namespace faultline::rpc;
namespace asio = boost::asio;

Frame divide_request() {
  Frame f;
  f.kind = FrameKind::kRequest;
  f.call_id = 12345;
  f.method = std::string(kDivideMethod);
  f.timeout = std::chrono::microseconds(1000);
  f.body = encode_divide_args({10, 3});
  return f;
}

void BM_FrameEncode(benchmark::State& state) {
  Frame f = divide_request();
  for (auto _ : state) benchmark::DoNotOptimize(encode_frame(f));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FrameEncode);

void BM_FrameDecode(benchmark::State& state) {
  std::string bytes = encode_frame(divide_request());
  for (auto _ : state) benchmark::DoNotOptimize(decode_frame(bytes));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FrameDecode);

void BM_DivideReplyDecode(benchmark::State& state) {
  std::string body = encode_divide_reply({10, 3, {{"Quo", 3}, {"Rem", 1}}});
  for (auto _ : state) {
    DivideReply r;
    decode_divide_reply(body, r);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DivideReplyDecode);

// A server and a client io_context, each on two threads, for the network benchmarks.
struct Loopback {
  Loopback() : server(ServerOptions{"127.0.0.1", 0, 2, kMaxFrameBytes}) {
    register_arith(server);
    server.start();
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
  }
  ~Loopback() {
    server.stop();
    work.reset();
    io.stop();
    for (auto& t : threads) t.join();
  }
  Server server;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::vector<std::thread> threads;
};

// One call at a time on one connection: the latency of a loopback round trip.
void BM_RoundTrip(benchmark::State& state) {
  Loopback lb;
  auto client = Client::dial(lb.io, lb.server.port());
  std::string args = encode_divide_args({10, 3});
  for (auto _ : state) {
    auto call = client->go(kDivideMethod, args, nullptr);
    if (!call->wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(5)) ||
        call->result().status != Status::kOk) {
      state.SkipWithError("call failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  client->close();
}
BENCHMARK(BM_RoundTrip)->UseRealTime();

// K connections, each with kWindow calls in flight; one iteration is one full window on every
// connection. items_per_second is the sustained call rate.
void BM_SustainedCalls(benchmark::State& state) {
  constexpr int kWindow = 16;
  Loopback lb;
  std::vector<std::shared_ptr<Client>> clients;
  for (int i = 0; i < state.range(0); ++i) clients.push_back(Client::dial(lb.io, lb.server.port()));
  std::string args = encode_divide_args({10, 3});
  std::vector<std::shared_ptr<Call>> calls;
  for (auto _ : state) {
    calls.clear();
    for (auto& c : clients) {
      for (int w = 0; w < kWindow; ++w) calls.push_back(c->go(kDivideMethod, args, nullptr));
    }
    for (auto& call : calls) {
      if (!call->wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(5))) {
        state.SkipWithError("call timed out");
        break;
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * state.range(0) * kWindow);
  for (auto& c : clients) c->close();
}
BENCHMARK(BM_SustainedCalls)->Arg(1)->Arg(4)->Arg(16)->UseRealTime();

}  // namespace
