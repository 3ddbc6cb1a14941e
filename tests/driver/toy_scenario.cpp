// A scenario whose behaviour is chosen by its parameters, so driver tests can make it pass,
// report an observation, crash, hang or skip `done` on purpose.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "harness/probe/resource_tally.h"
#include "harness/scenario/scenario_api.h"

namespace {
const faultline::ScenarioSpec kSpec{
    .id = "toy",
    .seed = "none",
    .title = "a scenario for testing the driver",
    .oracle = "observation 'toy_symptom' when the variant asks for it",
    .variants = {"buggy", "fixed", "other"},
    .params = {{.name = "action",
                .type = faultline::ParamType::kString,
                .default_value = "observe",
                .help = "observe, clean, segv, abort, hang, no-done, exit3, open-fds (open up to "
                        "`count` fds, stop at the first EMFILE) or start-threads (start up to "
                        "`count` threads, stop at the first refusal)",
                .choices = {"observe", "clean", "segv", "abort", "hang", "no-done", "exit3",
                            "open-fds", "start-threads"}},
               {.name = "count",
                .type = faultline::ParamType::kInt,
                .default_value = "200",
                .help = "fds or threads to ask for (open-fds, start-threads)",
                .min = 1,
                .max = 100000},
               {.name = "sleep-ms",
                .type = faultline::ParamType::kInt,
                .default_value = "0",
                .help = "milliseconds to sleep first",
                .min = 0,
                .max = 60000}},
    // Accepts every fault family so the driver's plumbing can be tested; it reports what it
    // was given instead of acting on it.
    .faults = {"tcp", "udp", "process"},
    .expectations =
        {
            faultline::expect_incident("buggy", "*", {{"toy_symptom"}}),
            faultline::expect_clean("fixed", "*", {}, "a test scenario: it has no race window"),
            faultline::expect_nothing("other", "*", "a variant of no incident"),
        },
    .observes = {"toy_symptom"},
};

// Opens /dev/null until `count` are open or the fd limit refuses one; reports what it got and
// the RLIMIT_NOFILE it saw, so a test can tell that --max-fds reached the child.
void open_fds(faultline::Context& ctx, std::int64_t count) {
  std::vector<int> fds;
  while (static_cast<std::int64_t>(fds.size()) < count) {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      faultline::resource_tally().note_fd(errno, "open(/dev/null)");
      break;
    }
    fds.push_back(fd);
  }
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  ctx.report.metric("fds_opened", static_cast<double>(fds.size()));
  ctx.report.metric("nofile_soft", static_cast<double>(files.rlim_cur));
  for (int fd : fds) ::close(fd);
}

// Starts threads that wait for a release until `count` run or one is refused, then joins them.
void start_threads(faultline::Context& ctx, std::int64_t count) {
  std::mutex mutex;
  std::condition_variable cv;
  bool release = false;
  std::vector<std::thread> threads;
  while (static_cast<std::int64_t>(threads.size()) < count) {
    if (!faultline::start_thread(threads, [&] {
          std::unique_lock lock(mutex);
          cv.wait(lock, [&] { return release; });
        })) {
      break;
    }
  }
  ctx.report.metric("threads_started", static_cast<double>(threads.size()));
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  cv.notify_all();
  for (auto& t : threads) t.join();
}

int run(faultline::Context& ctx) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ctx.params.integer("sleep-ms")));
  const std::string& action = ctx.params.text("action");
  ctx.report.metric("seed_seen", static_cast<double>(ctx.seed));
  ctx.report.metric("faults_given", static_cast<double>(ctx.faults.size()));
  ctx.report.metric("nemesis_given", static_cast<double>(ctx.nemesis.size()));
  if (!ctx.perturb.empty()) ctx.report.note("perturb " + ctx.perturb);
  for (const auto& f : ctx.faults) ctx.report.timeline("fault on", 0.0, f);
  // Only the buggy variant shows the symptom under "observe": the observation is what the
  // scenario measured, the verdict is the driver's.
  std::uint64_t seen = action == "observe" && ctx.is("buggy") ? 3 : 0;
  ctx.report.observation("toy_symptom", seen, "toy symptom");
  std::cout << "toy: " << action << "\n" << std::flush;
  if (action == "segv") std::raise(SIGSEGV);
  if (action == "abort") std::abort();
  if (action == "hang") std::this_thread::sleep_for(std::chrono::hours(1));
  if (action == "exit3") return 3;
  if (action == "open-fds") open_fds(ctx, ctx.params.integer("count"));
  if (action == "start-threads") start_threads(ctx, ctx.params.integer("count"));
  // Exit 0 before the body returns, so scenario_main never writes `done`.
  if (action == "no-done") std::_Exit(0);
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  return faultline::scenario_main(argc, argv, kSpec, run);
}
