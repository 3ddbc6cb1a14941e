#include "harness/run/batch.h"

#include <mutex>
#include <thread>

namespace faultline {

BatchOutcome run_batch(
    const std::vector<RunPlan>& plans, const RunSettings& settings, int jobs, ResultsWriter& writer,
    const std::atomic<bool>* cancel,
    const std::function<void(const Record&, std::size_t, std::size_t)>& on_record) {
  BatchOutcome outcome;
  std::mutex mutex;  // guards outcome and next
  std::size_t next = 0;
  auto stopping = [&] { return cancel && cancel->load(); };

  auto worker = [&] {
    for (;;) {
      std::size_t index;
      {
        std::lock_guard lock(mutex);
        if (next >= plans.size() || stopping()) return;
        index = next++;
      }
      bool was_cancelled = false;
      Record record = execute_run(plans[index], settings, cancel, &was_cancelled);
      std::lock_guard lock(mutex);
      if (was_cancelled) {
        ++outcome.dropped_in_flight;
        continue;
      }
      writer.append(record);
      outcome.records.push_back(std::move(record));
      if (on_record) on_record(outcome.records.back(), outcome.records.size(), plans.size());
    }
  };

  const int n = std::max(1, std::min<int>(jobs, static_cast<int>(plans.size())));
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();

  outcome.interrupted = stopping();
  outcome.not_started = plans.size() - next;
  return outcome;
}

}  // namespace faultline
