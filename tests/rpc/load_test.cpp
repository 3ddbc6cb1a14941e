// run_load against an in-process Arith server: what it counts and how the two latencies of the
// open loop relate. Nothing here times anything against a bound (docs/latency.md has the
// measurements, by scripts/bench-latency.sh).
#include "servers/rpc/load.h"

#include <gtest/gtest.h>

#include "servers/rpc/arith_server.h"

namespace faultline::rpc {
namespace {

using namespace std::chrono_literals;

TEST(Load, OpenLoopSendsEveryRequestDueAndTimesEachFromWhenItWasDue) {
  ArithServer server(0, 2);
  LoadOptions o;
  o.port = server.port();
  o.rate = 400;
  o.duration = 500ms;
  o.connections = 3;
  const LoadResult r = run_load(o);
  EXPECT_EQ(r.sent, 200u);  // rate x duration, whatever the server did
  EXPECT_EQ(r.replied + r.timed_out + r.failed, r.sent);
  EXPECT_EQ(r.replied, r.sent);
  EXPECT_EQ(r.corrected.count(), r.replied);
  EXPECT_EQ(r.uncorrected.count(), r.replied);
  // Due never comes after sent: each request's corrected latency is at least its uncorrected.
  EXPECT_GE(r.corrected.min(), r.uncorrected.min());
  EXPECT_GE(r.corrected.sum(), r.uncorrected.sum());
  EXPECT_GE(r.corrected.percentile(99), r.uncorrected.percentile(99));
  EXPECT_NE(r.summary().find("200 sent"), std::string::npos) << r.summary();
  EXPECT_EQ(server.requests(), 200u);
}

TEST(Load, ClosedLoopTimesEachCallFromItsSend) {
  ArithServer server(0, 2);
  LoadOptions o;
  o.port = server.port();
  o.open_loop = false;
  o.duration = 300ms;
  o.connections = 2;
  const LoadResult r = run_load(o);
  EXPECT_GT(r.sent, 0u);
  EXPECT_EQ(r.replied, r.sent);
  EXPECT_TRUE(r.corrected == r.uncorrected);  // a closed loop sends when it is due
  EXPECT_EQ(server.requests(), r.sent);
}

TEST(Load, ARefusedConnectionThrows) {
  std::uint16_t port = 0;
  {
    ArithServer gone(0, 1);
    port = gone.port();
    gone.stop();
  }
  LoadOptions o;
  o.port = port;
  EXPECT_ANY_THROW(run_load(o));
}

}  // namespace
}  // namespace faultline::rpc
