// Runs many plans, up to J at a time, writing each record the moment its run ends, and stops
// cleanly when asked to (Ctrl-C): finished runs are kept, runs in flight are stopped and dropped.
#pragma once

#include <atomic>
#include <functional>
#include <vector>

#include "harness/record/results_file.h"
#include "harness/run/executor.h"

namespace faultline {

struct BatchOutcome {
  std::vector<Record> records;        // in completion order
  std::size_t dropped_in_flight = 0;  // stopped by an interrupt: no record
  std::size_t not_started = 0;
  std::size_t skipped = 0;  // plans `skip` turned down (a stop rule: their answer was in)
  bool interrupted = false;
};

// `on_record` is called (from the worker that ran it, one call at a time) after each record has
// been appended; `done` counts records so far. `skip`, when given, is asked (under the same
// lock) before each plan starts; a plan it turns down is not run.
BatchOutcome run_batch(
    const std::vector<RunPlan>& plans, const RunSettings& settings, int jobs, ResultsWriter& writer,
    const std::atomic<bool>* cancel,
    const std::function<void(const Record& record, std::size_t done, std::size_t total)>& on_record,
    const std::function<bool(const RunPlan& plan)>& skip = nullptr);

}  // namespace faultline
