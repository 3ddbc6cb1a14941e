#include "servers/rpc/io_pool.h"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace faultline::rpc {
namespace {

using namespace std::chrono_literals;

// Every handler posted to one io_context runs on that context's one thread, a different thread
// for each context; with spinning on or off, and stop() joins them all.
void each_context_runs_on_a_thread_of_its_own(std::chrono::microseconds spin) {
  IoPool pool(3, spin);
  pool.start("test");
  std::mutex mu;
  std::vector<std::set<std::thread::id>> seen(pool.size());
  std::vector<std::promise<void>> done(pool.size());
  for (std::size_t c = 0; c < pool.size(); ++c) {
    for (int i = 0; i < 200; ++i) {
      boost::asio::post(pool.at(c), [&, c, last = i == 199] {
        {
          std::lock_guard lock(mu);
          seen[c].insert(std::this_thread::get_id());
        }
        if (last) done[c].set_value();
      });
      if (i % 50 == 0) std::this_thread::sleep_for(200us);  // some posts find it idle
    }
  }
  for (auto& d : done) ASSERT_EQ(d.get_future().wait_for(5s), std::future_status::ready);
  pool.stop();
  std::set<std::thread::id> all;
  for (auto& s : seen) {
    ASSERT_EQ(s.size(), 1u);
    all.insert(*s.begin());
  }
  EXPECT_EQ(all.size(), pool.size());
  EXPECT_EQ(all.count(std::this_thread::get_id()), 0u);
  pool.stop();  // idempotent
}

TEST(IoPool, EachContextRunsOnAThreadOfItsOwnWithoutSpinning) {
  each_context_runs_on_a_thread_of_its_own(0us);
}

TEST(IoPool, EachContextRunsOnAThreadOfItsOwnWhileSpinning) {
  each_context_runs_on_a_thread_of_its_own(200us);
}

// next() hands out the io_contexts in turn.
TEST(IoPool, NextGoesRoundTheContexts) {
  IoPool pool(2, 0us);
  auto* first = &pool.next();
  auto* second = &pool.next();
  EXPECT_NE(first, second);
  EXPECT_EQ(&pool.next(), first);
}

}  // namespace
}  // namespace faultline::rpc
