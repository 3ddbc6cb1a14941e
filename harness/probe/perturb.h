// Seeded scheduling perturbation: named points in the scenarios' and servers' code where, when
// asked (--perturb probability=P,max-us=N), the calling thread is delayed by a seeded random
// amount, to widen race windows the way rr's chaos mode and PCT do. Off unless configured.
//
//   FAULTLINE_PERTURB("rpc.client.reader.before-decode");
//
// Off, a point costs one relaxed atomic load and a branch (its counters live in a
// constant-initialised static: no guard variable, no registration). On, a hit draws from a
// generator owned by the calling thread and seeded from (run seed, thread index, point name), so
// the sequence of draws a given thread sees at a given point is the same in every run with that
// seed; which thread reaches a point first is still up to the scheduler.
//
// Spec (docs/faults.md, "Scheduling perturbation"):
//   probability=P   in [0, 1]: the chance that one hit delays
//   max-us=N        in [0, 1000000]: the delay is uniform in 0..N microseconds
//   mode=sleep|yield|spin (default sleep): how the delay is spent: sleep_for; sched_yield in a
//                   loop until it elapsed; a busy loop on the clock until it elapsed
//   points=a|b|c*   (default: every point): only these points; a trailing * matches a prefix
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::perturb {

enum class Mode { kSleep, kYield, kSpin };

struct Spec {
  double probability = 0;
  std::uint64_t max_us = 0;
  Mode mode = Mode::kSleep;
  std::vector<std::string> points;  // empty: every point
  std::string text;                 // as given
};

// Parses a spec; an empty text means off (probability 0). Throws std::invalid_argument with a
// message that names the bad key or value and what is allowed.
Spec parse_spec(std::string_view text);

// The same check, as a value, for the driver: the message, or nothing when the spec is good.
std::optional<std::string> validate_perturb_spec(std::string_view text);

// Switches perturbation on for this process with `spec` and the run's seed (an empty or
// probability-0 spec switches it off), and zeroes every point's counters. Throws as parse_spec.
// Call it before the threads that hit points start.
void configure(std::string_view spec, std::uint64_t seed);
void configure(const Spec& spec, std::uint64_t seed);
void disable();

// The spec in force (probability 0 when off).
Spec current();

// Optional: gives the calling thread a stable index (a worker's number, say), so its generators
// do not depend on the order in which threads first reached a point. Without it a thread gets
// the next free index at its first hit. Indexes at or above 1 << 32 are reserved for that.
void set_thread_index(std::uint64_t index);

// The per-point generator: splitmix64 seeded from (seed, thread index, point name hash). Public
// so that tests can replay the draws a thread made.
struct Draw {
  bool delay = false;
  std::uint64_t us = 0;  // meaningful when delay
};
class Generator {
 public:
  Generator(std::uint64_t seed, std::uint64_t thread_index, std::uint64_t point_hash);
  Draw next(double probability, std::uint64_t max_us);

 private:
  std::uint64_t state_;
};

constexpr std::uint64_t name_hash(std::string_view name) {
  std::uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a: stable across builds and compilers
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001B3ull;
  return h;
}

// One named point. Defined as a constinit static by FAULTLINE_PERTURB; lives for the process.
struct Point {
  constexpr explicit Point(const char* point_name)
      : name(point_name), hash(name_hash(point_name)) {}

  const char* const name;
  const std::uint64_t hash;
  std::atomic<std::uint64_t> hits{0};
  std::atomic<std::uint64_t> delays{0};
  std::atomic<std::uint64_t> drawn_us{0};     // sum of the delays drawn
  std::atomic<std::uint64_t> measured_ns{0};  // sum of the delays as spent (clock time)
  // Bookkeeping of the slow path: the configuration this point's selection was computed for,
  // and the registry link (a point joins the registry at its first hit while on).
  std::atomic<std::uint64_t> selected_for{0};  // generation << 1 | selected
  std::atomic<bool> registered{false};
  Point* next = nullptr;
};

struct PointStats {
  std::string name;
  std::uint64_t hits = 0;
  std::uint64_t delays = 0;
  std::uint64_t drawn_us = 0;
  std::uint64_t measured_ns = 0;
};

// Counters of every point hit while on since the last configure(), sorted by name; sites that
// share a name are summed.
std::vector<PointStats> stats();

namespace detail {
extern std::atomic<bool> g_on;
void hit(Point& point);
}  // namespace detail

}  // namespace faultline::perturb

// A perturbation point named `name` (a string literal, "area.component.where"). Off: one relaxed
// load. The name is listed in docs/faults.md.
#define FAULTLINE_PERTURB(name)                                                  \
  do {                                                                           \
    static constinit ::faultline::perturb::Point faultline_perturb_point_{name}; \
    if (::faultline::perturb::detail::g_on.load(std::memory_order_relaxed)) {    \
      ::faultline::perturb::detail::hit(faultline_perturb_point_);               \
    }                                                                            \
  } while (false)
