#include "harness/run/batch.h"

#include <fmt/format.h>

#include <mutex>
#include <string>
#include <thread>

namespace faultline {

BatchOutcome run_batch(
    const std::vector<RunPlan>& plans, const RunSettings& settings, int jobs, ResultsWriter& writer,
    const std::atomic<bool>* cancel,
    const std::function<void(const Record&, std::size_t, std::size_t)>& on_record,
    const std::function<bool(const RunPlan&)>& skip) {
  BatchOutcome outcome;
  std::mutex mutex;  // guards outcome and next
  std::size_t next = 0;
  std::string write_error;  // the first record that could not be written stops the batch
  auto stopping = [&] { return (cancel && cancel->load()) || !write_error.empty(); };

  auto worker = [&] {
    for (;;) {
      std::size_t index;
      {
        std::lock_guard lock(mutex);
        while (next < plans.size() && !stopping() && skip && skip(plans[next])) {
          ++next;
          ++outcome.skipped;
        }
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
      try {
        writer.append(record);
      } catch (const ResultsWriteError& e) {
        if (write_error.empty()) write_error = e.what();
        continue;
      }
      outcome.records.push_back(std::move(record));
      if (on_record) on_record(outcome.records.back(), outcome.records.size(), plans.size());
    }
  };

  const int n = std::max(1, std::min<int>(jobs, static_cast<int>(plans.size())));
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();

  outcome.not_started = plans.size() - next;  // skipped plans were passed, not left
  if (!write_error.empty()) {
    throw ResultsWriteError(fmt::format(
        "{}; {} run{} recorded before it, {} not started", write_error, outcome.records.size(),
        outcome.records.size() == 1 ? "" : "s", outcome.not_started));
  }
  outcome.interrupted = stopping();
  return outcome;
}

}  // namespace faultline
