// The Go-like channel: rendezvous and buffered sends, deadlines, ordering, close.
#include "servers/broadcast/channel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace faultline::broadcast {
namespace {
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(Channel, RendezvousSendWaitsForAReceiver) {
  Channel<int> ch(0);
  std::atomic<bool> sent{false};
  std::thread sender([&] {
    ch.send(7);
    sent.store(true);
  });
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(sent.load()) << "a rendezvous send returned with no receiver";
  EXPECT_EQ(ch.receive_until(Clock::now() + 1s), 7);
  sender.join();
  EXPECT_TRUE(sent.load());
}

TEST(Channel, RendezvousSendWithNoReceiverTimesOutAndWithdrawsItsValue) {
  Channel<int> ch(0);
  EXPECT_FALSE(ch.send_until(1, Clock::now() + 50ms));
  EXPECT_EQ(ch.pending(), 0u);
  EXPECT_EQ(ch.receive_until(Clock::now() + 20ms), std::nullopt);
}

TEST(Channel, SendAfterTheReceiverGaveUpBlocksOnlyWithoutABuffer) {
  // The incident's shape: the receiver's deadline passes first, the sender comes later.
  for (std::size_t capacity : {0u, 1u}) {
    Channel<int> ch(capacity);
    EXPECT_EQ(ch.receive_until(Clock::now() + 20ms), std::nullopt);
    const bool completed = ch.send_until(1, Clock::now() + 100ms);
    EXPECT_EQ(completed, capacity == 1) << "capacity " << capacity;
  }
}

TEST(Channel, BufferedSendCompletesUntilTheBufferIsFull) {
  Channel<int> ch(2);
  EXPECT_TRUE(ch.send_until(1, Clock::now() + 10ms));
  EXPECT_TRUE(ch.send_until(2, Clock::now() + 10ms));
  EXPECT_FALSE(ch.send_until(3, Clock::now() + 30ms));
  EXPECT_EQ(ch.receive(), 1);
  EXPECT_TRUE(ch.send_until(3, Clock::now() + 10ms));
  EXPECT_EQ(ch.receive(), 2);
  EXPECT_EQ(ch.receive(), 3);
}

TEST(Channel, DeliversEveryValueOnceInEachSendersOrder) {
  for (std::size_t capacity : {0u, 4u}) {
    Channel<std::pair<int, int>> ch(capacity);
    constexpr int kSenders = 4, kEach = 500;
    std::vector<std::thread> senders;
    for (int s = 0; s < kSenders; ++s) {
      senders.emplace_back([&, s] {
        for (int i = 0; i < kEach; ++i) ch.send({s, i});
      });
    }
    std::vector<std::vector<int>> got(kSenders);
    std::mutex got_mutex;
    std::vector<std::thread> receivers;
    for (int r = 0; r < 2; ++r) {
      receivers.emplace_back([&] {
        while (auto v = ch.receive()) {  // ends when the channel is closed and drained
          std::lock_guard lock(got_mutex);
          got[static_cast<std::size_t>(v->first)].push_back(v->second);
        }
      });
    }
    for (auto& t : senders) t.join();
    ch.close();
    for (auto& t : receivers) t.join();
    for (int s = 0; s < kSenders; ++s) {
      auto& values = got[static_cast<std::size_t>(s)];
      ASSERT_EQ(values.size(), static_cast<std::size_t>(kEach)) << "capacity " << capacity;
      // Two receivers may record in either order; each value arrives exactly once.
      std::sort(values.begin(), values.end());
      for (int i = 0; i < kEach; ++i) ASSERT_EQ(values[static_cast<std::size_t>(i)], i);
    }
  }
}

TEST(Channel, ReceivesInSendOrderWithOneReceiver) {
  Channel<int> ch(3);
  std::thread sender([&] {
    for (int i = 0; i < 100; ++i) ch.send(i);
  });
  for (int i = 0; i < 100; ++i) ASSERT_EQ(ch.receive_until(Clock::now() + 2s), i);
  sender.join();
}

TEST(Channel, CloseDrainsThenEndsReceivesAndRejectsSends) {
  Channel<int> ch(2);
  ch.send(1);
  ch.close();
  EXPECT_EQ(ch.receive(), 1);
  EXPECT_EQ(ch.receive(), std::nullopt);
  EXPECT_THROW(ch.send(2), std::logic_error);
}

TEST(Channel, CloseWakesABlockedRendezvousSender) {
  Channel<int> ch(0);
  std::atomic<bool> threw{false};
  std::thread sender([&] {
    try {
      ch.send(1);
    } catch (const std::logic_error&) {
      threw.store(true);
    }
  });
  std::this_thread::sleep_for(50ms);
  ch.close();
  sender.join();
  EXPECT_TRUE(threw.load());
}

}  // namespace
}  // namespace faultline::broadcast
