// The after-run audit of seed 003's shared map (task_ledger.h).
#include "servers/pool/task_ledger.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <new>
#include <unordered_set>

namespace faultline::pool {

void TaskLedger::Free::operator()(std::uint8_t* p) const {
  std::free(p);
}

TaskLedger::TaskLedger(std::uint64_t tasks) {
  auto zeroed = [tasks] {
    auto* p = static_cast<std::uint8_t*>(std::calloc(std::max<std::uint64_t>(tasks, 1), 1));
    if (p == nullptr) throw std::bad_alloc();
    return Flags(p);
  };
  outcome_ = zeroed();
  erased_ = zeroed();
}

LedgerAudit TaskLedger::audit(std::uint64_t submitted, const MapWalk& walk) const {
  LedgerAudit a;
  a.submitted = submitted;
  a.reported_size = walk.reported_size;
  a.walked = walk.keys.size();
  a.walk_cut = walk.walk_cut;
  for (std::uint64_t i = 0; i < submitted; ++i) {
    if (outcome(i).load(std::memory_order_relaxed) == kStored &&
        !erased(i).load(std::memory_order_relaxed)) {
      ++a.expected;
    }
  }
  std::unordered_set<std::uint64_t> seen;
  std::uint64_t found_expected = 0;
  for (auto key : walk.keys) {
    if (!seen.insert(key).second) continue;
    if (key >= submitted || outcome(key).load(std::memory_order_relaxed) != kStored) {
      ++a.foreign;
    } else if (erased(key).load(std::memory_order_relaxed)) {
      ++a.resurrected;
    } else {
      ++found_expected;
    }
  }
  a.missing = a.expected - std::min(found_expected, a.expected);
  a.lost = a.missing + a.resurrected + a.foreign + (walk.walk_cut ? 1 : 0);
  return a;
}

Measures LedgerAudit::measures() const {
  return {{"tasks_submitted", submitted, "tasks"},
          {"map_size_reported", reported_size, "entries"},
          {"map_entries_walked", walked, "entries"}};
}

std::string LedgerAudit::detail() const {
  return fmt::format(
      "audit: {} of {} stored entries missing, {} erased entries still present, {} keys no task "
      "stored, size() says {} and a walk found {}{}",
      missing, expected, resurrected, foreign, reported_size, walked,
      walk_cut ? " (walk cut: the links loop)" : "");
}

std::string LedgerAudit::summary() const {
  return fmt::format("audit {} missing, {} resurrected, size {} walked {}", missing, resurrected,
                     reported_size, walked);
}

}  // namespace faultline::pool
