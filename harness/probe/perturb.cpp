#include "harness/probe/perturb.h"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include "harness/probe/shown.h"
#include "harness/probe/splitmix.h"

namespace faultline::perturb {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kMaxUs = 1'000'000;
constexpr std::uint64_t kAutoIndexBase = std::uint64_t{1} << 32;

std::invalid_argument bad(std::string_view text, const std::string& what) {
  return std::invalid_argument("--perturb: " + shown(what, 400) + " in '" + shown(text) +
                               "' (expected probability=P,max-us=N[,mode=sleep|yield|spin]"
                               "[,points=a|b])");
}

bool is_point_pattern(std::string_view s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                    c == '_' || (c == '*' && i + 1 == s.size());
    if (!ok) return false;
  }
  return true;
}

bool matches(const std::vector<std::string>& patterns, std::string_view name) {
  if (patterns.empty()) return true;
  for (const auto& p : patterns) {
    if (!p.empty() && p.back() == '*') {
      if (name.substr(0, p.size() - 1) == std::string_view(p).substr(0, p.size() - 1)) return true;
    } else if (name == p) {
      return true;
    }
  }
  return false;
}

// One configuration, immutable once published. Old ones are never freed: a reader that loaded
// the pointer may still use it, and a process configures a handful of times at most.
struct Config {
  Spec spec;
  std::uint64_t seed = 0;
  std::uint64_t generation = 0;
};

std::atomic<const Config*> g_config{nullptr};
std::atomic<std::uint64_t> g_next_thread{0};
std::mutex g_registry_mu;
Point* g_registry = nullptr;     // guarded by g_registry_mu
std::uint64_t g_generation = 0;  // guarded by g_registry_mu

struct ThreadState {
  std::uint64_t index = 0;
  bool has_index = false;
  std::uint64_t generation = 0;  // the configuration `generators` belong to
  std::vector<std::pair<const Point*, Generator>> generators;
};
thread_local ThreadState t_state;

void register_point(Point& point) {
  std::lock_guard lock(g_registry_mu);
  if (point.registered.load(std::memory_order_relaxed)) return;
  point.next = g_registry;
  g_registry = &point;
  point.registered.store(true, std::memory_order_release);
}

bool selected(Point& point, const Config& config) {
  const std::uint64_t cached = point.selected_for.load(std::memory_order_relaxed);
  if ((cached >> 1) == config.generation) return (cached & 1) != 0;
  const bool sel = matches(config.spec.points, point.name);
  point.selected_for.store(config.generation << 1 | (sel ? 1 : 0), std::memory_order_relaxed);
  return sel;
}

Generator& generator_for(const Point& point, const Config& config) {
  ThreadState& t = t_state;
  if (!t.has_index) {
    t.index = kAutoIndexBase + g_next_thread.fetch_add(1, std::memory_order_relaxed);
    t.has_index = true;
  }
  if (t.generation != config.generation) {
    t.generators.clear();
    t.generation = config.generation;
  }
  for (auto& [p, g] : t.generators) {
    if (p == &point) return g;
  }
  t.generators.emplace_back(&point, Generator(config.seed, t.index, point.hash));
  return t.generators.back().second;
}

void spend(Mode mode, std::chrono::microseconds d) {
  if (mode == Mode::kSleep) {
    if (d.count() > 0) std::this_thread::sleep_for(d);
    return;
  }
  const auto until = Clock::now() + d;
  do {
    if (mode == Mode::kYield) ::sched_yield();  // at least once, even for a 0 us draw
  } while (Clock::now() < until);
}

}  // namespace

Spec parse_spec(std::string_view text) {
  Spec spec;
  spec.text = std::string(text);
  if (text.empty()) return spec;
  bool have_p = false;
  bool have_max = false;
  bool have_mode = false;
  bool have_points = false;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view item = text.substr(pos, comma - pos);
    pos = comma + 1;
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == item.size()) {
      throw bad(text, "'" + std::string(item) + "' is not key=value");
    }
    const std::string_view key = item.substr(0, eq);
    const std::string_view value = item.substr(eq + 1);
    auto once = [&](bool& seen) {
      if (seen) throw bad(text, "key '" + std::string(key) + "' is given twice");
      seen = true;
    };
    if (key == "probability") {
      once(have_p);
      double p = -1;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), p);
      if (ec != std::errc() || end != value.data() + value.size() || !std::isfinite(p) || p < 0 ||
          p > 1) {
        throw bad(text, "probability '" + std::string(value) + "' is not a number in [0, 1]");
      }
      spec.probability = p;
    } else if (key == "max-us") {
      once(have_max);
      std::uint64_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n > kMaxUs) {
        throw bad(text, "max-us '" + std::string(value) + "' is not a whole number of " +
                            "microseconds in [0, 1000000]");
      }
      spec.max_us = n;
    } else if (key == "mode") {
      once(have_mode);
      if (value == "sleep") {
        spec.mode = Mode::kSleep;
      } else if (value == "yield") {
        spec.mode = Mode::kYield;
      } else if (value == "spin") {
        spec.mode = Mode::kSpin;
      } else {
        throw bad(text, "mode '" + std::string(value) + "' is not sleep, yield or spin");
      }
    } else if (key == "points") {
      once(have_points);
      std::size_t p = 0;
      while (p <= value.size()) {
        std::size_t bar = value.find('|', p);
        if (bar == std::string_view::npos) bar = value.size();
        const std::string_view name = value.substr(p, bar - p);
        if (!is_point_pattern(name)) {
          throw bad(text, "point '" + std::string(name) +
                              "' is not a point name (lower-case letters, digits, . - _, and "
                              "an optional trailing *)");
        }
        spec.points.emplace_back(name);
        p = bar + 1;
      }
    } else {
      throw bad(text, "unknown key '" + std::string(key) + "'");
    }
  }
  if (!have_p || !have_max) {
    throw bad(text, have_p ? "max-us is missing" : "probability is missing");
  }
  return spec;
}

std::optional<std::string> validate_perturb_spec(std::string_view text) {
  try {
    (void)parse_spec(text);
  } catch (const std::invalid_argument& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

void configure(std::string_view text, std::uint64_t seed) {
  configure(parse_spec(text), seed);
}

void configure(const Spec& spec, std::uint64_t seed) {
  std::lock_guard lock(g_registry_mu);
  for (Point* p = g_registry; p != nullptr; p = p->next) {
    p->hits.store(0, std::memory_order_relaxed);
    p->delays.store(0, std::memory_order_relaxed);
    p->drawn_us.store(0, std::memory_order_relaxed);
    p->measured_ns.store(0, std::memory_order_relaxed);
  }
  auto* config = new Config{spec, seed, ++g_generation};
  g_config.store(config, std::memory_order_release);
  detail::g_on.store(spec.probability > 0, std::memory_order_release);
}

void disable() {
  configure(Spec{}, 0);
}

Spec current() {
  const Config* config = g_config.load(std::memory_order_acquire);
  return config ? config->spec : Spec{};
}

void set_thread_index(std::uint64_t index) {
  t_state.index = index;
  t_state.has_index = true;
  t_state.generators.clear();
}

Generator::Generator(std::uint64_t seed, std::uint64_t thread_index, std::uint64_t point_hash)
    : state_(mix64(seed ^ mix64(thread_index + kGoldenGamma) ^
                   mix64(point_hash + 0xD1B54A32D192ED03ull))) {}

Draw Generator::next(double probability, std::uint64_t max_us) {
  auto step = [this] {
    state_ += kGoldenGamma;
    return mix64(state_);
  };
  const double u = static_cast<double>(step() >> 11) * 0x1.0p-53;  // [0, 1)
  if (!(u < probability)) return {};
  return {true, step() % (max_us + 1)};
}

std::vector<PointStats> stats() {
  std::vector<PointStats> out;
  {
    std::lock_guard lock(g_registry_mu);
    for (const Point* p = g_registry; p != nullptr; p = p->next) {
      out.push_back({p->name, p->hits.load(std::memory_order_relaxed),
                     p->delays.load(std::memory_order_relaxed),
                     p->drawn_us.load(std::memory_order_relaxed),
                     p->measured_ns.load(std::memory_order_relaxed)});
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  // One name at several sites (the same window in a buggy and a fixed branch) is one point.
  std::vector<PointStats> merged;
  for (auto& s : out) {
    if (!merged.empty() && merged.back().name == s.name) {
      merged.back().hits += s.hits;
      merged.back().delays += s.delays;
      merged.back().drawn_us += s.drawn_us;
      merged.back().measured_ns += s.measured_ns;
    } else {
      merged.push_back(std::move(s));
    }
  }
  return merged;
}

namespace detail {

std::atomic<bool> g_on{false};

void hit(Point& point) {
  // Acquire: everything configure() wrote before publishing the configuration is visible here.
  const Config* config = g_config.load(std::memory_order_acquire);
  if (config == nullptr || config->spec.probability <= 0) return;
  if (!point.registered.load(std::memory_order_acquire)) register_point(point);
  if (!selected(point, *config)) return;
  point.hits.fetch_add(1, std::memory_order_relaxed);
  const Draw d = generator_for(point, *config).next(config->spec.probability, config->spec.max_us);
  if (!d.delay) return;
  point.delays.fetch_add(1, std::memory_order_relaxed);
  point.drawn_us.fetch_add(d.us, std::memory_order_relaxed);
  const auto begin = Clock::now();
  spend(config->spec.mode, std::chrono::microseconds(d.us));
  point.measured_ns.fetch_add(
      static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - begin).count()),
      std::memory_order_relaxed);
}

}  // namespace detail
}  // namespace faultline::perturb
