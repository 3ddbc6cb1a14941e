// hit-counter: a page-view counter that loses hits under concurrent requests. This is the
// out-of-tree example of docs/writing-a-scenario.md: a project of its own, built against the
// installed faultline package, run by the installed driver.
//
// Incident: a web front end counted page views per page in a table of plain integers. Every
// request did `count = table[page]; ...format the stats line...; table[page] = count + 1` on
// its worker thread. Under load the billing report, made from those counts, came out low:
// two workers read the same count, both stored count + 1, and one hit was gone.
// Root cause: a read-modify-write of shared memory with no lock (a data race).
// Fix: one lock around the read-modify-write.
//
// Timeline of the bad interleaving (two workers, one page):
//   worker A: count = table[3]   (41)
//                                          worker B: count = table[3]   (41)
//   A: formats its stats line                B: formats its stats line
//   A: table[3] = 42
//                                          B: table[3] = 42   (A's hit is lost)
//
// Oracle: after the workers are joined, the table's sum against the hits served: the missing
// ones are observation lost_update; TSan reports the data race. The fixed variant counts how
// often a worker found the lock taken (lock_waits), which shows that the workers really did
// contend for the counter in that run.
#include <fmt/format.h>

#include <atomic>
#include <cstdint>
#include <latch>
#include <mutex>
#include <numeric>
#include <thread>
#include <vector>

#include "harness/probe/perturb.h"
#include "harness/probe/splitmix.h"
#include "harness/scenario/scenario_api.h"

namespace {
using namespace faultline;

const ScenarioSpec kSpec{
    "hit-counter",
    "example",
    "page-view counts lose hits: workers read, add and store a shared count without a lock",
    "lost_update (the counts sum to fewer than the hits served); data_race under TSan",
    {"buggy", "fixed"},
    {
        int_param("workers", 4, 2, 64, "worker threads serving hits at once"),
        int_param("hits", 400000, 1, 100'000'000, "hits served in the run, split over the workers"),
        int_param("pages", 8, 1, 4096, "pages counted; each hit counts one drawn from the seed"),
    },
    {},
    {
        expect_incident("buggy", "none", {{"lost_update"}}),
        expect_incident("buggy", "tsan", {{"data_race"}, {"lost_update"}}),
        expect_incident("buggy", "asan", {{"lost_update"}}),
        expect_clean("fixed", "*", {"lock_waits>0"}),
    },
    {"lost_update"}};

// The page-view table. The lock is the only difference between the variants.
class HitTable {
 public:
  HitTable(std::size_t pages, bool locked) : counts_(pages, 0), locked_(locked) {}

  void hit(std::size_t page, std::uint64_t request) {
    std::unique_lock lock(mu_, std::defer_lock);
    if (locked_ && !lock.try_lock()) {  // FIX: one read-modify-write at a time
      lock_waits_.fetch_add(1, std::memory_order_relaxed);
      lock.lock();
    }
    // BUG: another worker's store between this read and this write is overwritten.
    const std::uint64_t count = counts_[page];
    FAULTLINE_PERTURB("hit-counter.between-read-and-write");
    stats_line_bytes_ += fmt::formatted_size("page {} hit {} request {}", page, count, request);
    counts_[page] = count + 1;
  }

  std::uint64_t total() const { return std::accumulate(counts_.begin(), counts_.end(), 0ull); }
  std::uint64_t lock_waits() const { return lock_waits_.load(); }

 private:
  std::vector<std::uint64_t> counts_;
  const bool locked_;
  std::mutex mu_;
  std::atomic<std::uint64_t> lock_waits_{0};
  std::uint64_t stats_line_bytes_ = 0;  // under the same (missing) lock as the counts
};

int run(Context& ctx) {
  const int workers = ctx.params.number("workers");
  const std::uint64_t hits = ctx.params.count("hits");
  const std::size_t pages = ctx.params.count("pages");
  HitTable table(pages, ctx.is("fixed"));
  std::latch start(workers);  // every worker starts serving at once
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      perturb::set_thread_index(static_cast<std::uint64_t>(w));
      start.arrive_and_wait();
      for (std::uint64_t i = static_cast<std::uint64_t>(w); i < hits; i += workers) {
        table.hit(static_cast<std::size_t>(mix64(ctx.seed * kGoldenGamma + i) % pages), i);
      }
    });
  }
  for (auto& t : threads) t.join();

  const std::uint64_t counted = table.total();
  const std::uint64_t lost = hits - counted;
  ctx.report.metric("hits_served", static_cast<double>(hits), "hits");
  ctx.report.metric("hits_counted", static_cast<double>(counted), "hits");
  ctx.report.metric("lock_waits", static_cast<double>(table.lock_waits()), "waits");
  ctx.report.observation("lost_update", lost,
                         fmt::format("{} of {} hits missing from the counts", lost, hits));
  fmt::print("{} {}: served {} hits, counted {}\n", kSpec.id, ctx.variant, hits, counted);
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  return faultline::scenario_main(argc, argv, kSpec, run);
}
