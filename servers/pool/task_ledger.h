// What each task of seed 003's pool did to the map the tasks share, and the audit after the run:
// the entries a walk of the map found, set against those the tasks stored and erased. Every entry
// stored and not erased must be found, and nothing else.
//
// Each flag is written by one task; relaxed order on purpose: these flags must add no
// synchronisation between tasks that could hide the map's race from TSan. A flag set means the
// map operation before it has returned.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness/probe/measure.h"

namespace faultline::pool {

// A walk of the map after every worker was joined, cut at a bound (a map corrupted into a
// cycle would otherwise never end it).
struct MapWalk {
  std::vector<std::uint64_t> keys;  // in walk order, as found (duplicates too)
  std::size_t reported_size = 0;    // what the map's size() said
  bool walk_cut = false;            // the bound was reached: the links loop
};

// Walks `map` (a map keyed by std::uint64_t) for its keys, at most `max_steps` of them. Call it
// only when no thread writes the map any more.
template <class Map>
MapWalk walk_keys(const Map& map, std::size_t max_steps) {
  MapWalk w;
  w.reported_size = map.size();
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (w.keys.size() >= max_steps) {
      w.walk_cut = true;
      break;
    }
    w.keys.push_back(it->first);
  }
  return w;
}

struct LedgerAudit {
  std::uint64_t submitted = 0;    // tasks handed to the pool
  std::uint64_t expected = 0;     // entries stored and not erased
  std::uint64_t missing = 0;      // of those, not found by the walk
  std::uint64_t resurrected = 0;  // erased, yet found
  std::uint64_t foreign = 0;      // found, but no task stored it
  std::uint64_t lost = 0;         // missing + resurrected + foreign, + 1 for a cut walk
  std::size_t reported_size = 0;  // the walk's: what size() said, the keys it found, its cut
  std::size_t walked = 0;
  bool walk_cut = false;

  // tasks_submitted, map_size_reported and map_entries_walked.
  Measures measures() const;
  // "audit: 0 of 2032 stored entries missing, 0 erased entries still present, ...".
  std::string detail() const;
  // "audit 0 missing, 0 resurrected, size 2032 walked 2032": the line a run prints.
  std::string summary() const;
};

// Task i's key is i. Its outcome is written by task i alone, its erased flag by the task that
// evicts its entry (`window` tasks later).
class TaskLedger {
 public:
  explicit TaskLedger(std::uint64_t tasks);

  bool stored(std::uint64_t i) const {
    return outcome(i).load(std::memory_order_relaxed) == kStored;
  }
  void mark_stored(std::uint64_t i) { outcome(i).store(kStored, std::memory_order_relaxed); }
  void mark_threw(std::uint64_t i) { outcome(i).store(kThrew, std::memory_order_relaxed); }
  void mark_erased(std::uint64_t i) { erased(i).store(1, std::memory_order_relaxed); }

  // After the join: the first `submitted` tasks' entries against what `walk` found.
  LedgerAudit audit(std::uint64_t submitted, const MapWalk& walk) const;

 private:
  enum : std::uint8_t { kNotRun = 0, kStored = 1, kThrew = 2 };
  struct Free {
    void operator()(std::uint8_t* p) const;
  };
  using Flags = std::unique_ptr<std::uint8_t[], Free>;
  std::atomic_ref<std::uint8_t> outcome(std::uint64_t i) const {
    return std::atomic_ref<std::uint8_t>(outcome_[i]);
  }
  std::atomic_ref<std::uint8_t> erased(std::uint64_t i) const {
    return std::atomic_ref<std::uint8_t>(erased_[i]);
  }
  // Zeroed by calloc and read and written through atomic_ref, not constructed flag by flag: for
  // the seed's 500,000 tasks, two vectors of std::atomic were 1,000,000 stores that TSan
  // instruments, about 15 ms before the first task could run (docs/performance.md).
  Flags outcome_;
  Flags erased_;
};

}  // namespace faultline::pool
