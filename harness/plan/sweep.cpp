#include "harness/plan/sweep.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <tuple>

#include "harness/record/experiment_key.h"

namespace faultline {

namespace {

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  for (;;) {
    std::size_t comma = text.find(',', pos);
    out.push_back(text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
    if (comma == std::string::npos) return out;
    pos = comma + 1;
  }
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

template <typename T>
std::optional<T> parse_number(const std::string& text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

GridAxis parse_grid_axis(const std::string& arg) {
  const auto eq = arg.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw UsageError(fmt::format(
        "--grid '{}' is not key=v1,v2,...: name a parameter and its values, e.g. --grid "
        "workers=1,8,64",
        arg));
  }
  GridAxis axis;
  axis.key = trim(arg.substr(0, eq));
  for (const auto& raw : split_commas(arg.substr(eq + 1))) {
    std::string v = trim(raw);
    if (v.empty()) {
      throw UsageError(
          fmt::format("--grid '{}' has an empty value: separate values with single "
                      "commas, e.g. {}=1,8,64",
                      arg, axis.key));
    }
    if (std::find(axis.values.begin(), axis.values.end(), v) == axis.values.end()) {
      axis.values.push_back(v);
    }
  }
  return axis;
}

std::vector<std::vector<std::string>> expand_grid(const std::vector<GridAxis>& grid) {
  std::vector<std::vector<std::string>> points = {{}};
  for (const auto& axis : grid) {
    std::vector<std::vector<std::string>> next;
    for (const auto& point : points) {
      for (const auto& v : axis.values) {
        auto p = point;
        p.push_back(axis.key + "=" + v);
        next.push_back(std::move(p));
      }
    }
    points = std::move(next);
  }
  return points;
}

void add_axes(std::vector<GridAxis>& grid, const std::vector<GridAxis>& extra) {
  for (const auto& axis : extra) {
    auto same = [&](const GridAxis& a) { return a.key == axis.key; };
    if (std::any_of(grid.begin(), grid.end(), same)) {
      throw UsageError(
          fmt::format("parameter '{}' is swept twice: give all its values in one --grid {}=v1,v2",
                      axis.key, axis.key));
    }
    grid.push_back(axis);
  }
}

SweepDefinition parse_sweep_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    throw UsageError(
        fmt::format("cannot read sweep file {}: check the path given to --file", path.string()));
  }
  SweepDefinition def;
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    line = trim(line);
    if (line.empty()) continue;
    const auto space = line.find_first_of(" \t");
    const std::string directive = line.substr(0, space);
    const std::string value = space == std::string::npos ? "" : trim(line.substr(space));
    auto where = [&] { return fmt::format("{}:{}", path.string(), line_no); };
    if (value.empty()) {
      throw UsageError(fmt::format("{}: '{}' needs a value", where(), directive));
    }
    try {
      if (directive == "scenario") {
        def.scenario = value;
      } else if (directive == "grid") {
        add_axes(def.grid, {parse_grid_axis(value)});
      } else if (directive == "set") {
        def.sets.push_back(value);
      } else if (directive == "variant") {
        def.variants = value;
      } else if (directive == "sanitizer") {
        def.sanitizers = value;
      } else if (directive == "repeat" || directive == "seed") {
        auto n = parse_number<std::uint64_t>(value);
        if (!n) throw UsageError(fmt::format("'{}' is not a whole number", value));
        (directive == "repeat" ? def.repeat : def.seed) = *n;
      } else if (directive == "timeout") {
        auto s = parse_number<double>(value);
        if (!s) throw UsageError(fmt::format("'{}' is not a number of seconds", value));
        def.timeout_s = *s;
      } else {
        throw UsageError(fmt::format(
            "unknown directive '{}': use scenario, grid, set, variant, sanitizer, repeat, "
            "seed or timeout",
            directive));
      }
    } catch (const UsageError& e) {
      throw UsageError(fmt::format("{}: {}", where(), e.what()));
    }
  }
  return def;
}

std::vector<Sanitizer> parse_sanitizer_list(const std::string& text) {
  std::vector<Sanitizer> out;
  for (const auto& name : split_commas(text)) {
    Sanitizer s = parse_sanitizer(trim(name));
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  return out;
}

Shard parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  std::optional<std::uint64_t> index, count;
  if (slash != std::string::npos) {
    index = parse_number<std::uint64_t>(text.substr(0, slash));
    count = parse_number<std::uint64_t>(text.substr(slash + 1));
  }
  if (!index || !count || *count == 0) {
    throw UsageError(fmt::format(
        "--shard '{}' is not I/N: give the 0-based slice and the number of slices, e.g. "
        "--shard 0/4",
        text));
  }
  if (*index >= *count) {
    throw UsageError(fmt::format("--shard {}: slices are numbered from 0 to {}", text, *count - 1));
  }
  return {*index, *count};
}

std::string default_sweep_out(const std::string& id, const Shard& shard) {
  return shard.count > 1
             ? fmt::format("results/{}-sweep-shard{}of{}.jsonl", id, shard.index, shard.count)
             : fmt::format("results/{}-sweep.jsonl", id);
}

std::uint64_t stable_hash(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

bool in_shard(const std::string& run_key, const Shard& shard) {
  return stable_hash(run_key) % shard.count == shard.index;
}

void order_for_sweep(std::vector<RunPlan>& plans) {
  // Stable: within one repeat the planned order (sanitizer, point, variant) stays.
  std::stable_sort(plans.begin(), plans.end(), [](const RunPlan& a, const RunPlan& b) {
    return a.repeat_index < b.repeat_index;
  });
}

ResumeState scan_for_resume(const std::vector<Record>& existing,
                            const std::set<std::string>& sweep_keys) {
  ResumeState state;
  for (const auto& r : existing) {
    const std::string key = run_key_of(r);
    if (!sweep_keys.count(key)) {
      ++state.records_outside_sweep;
      continue;
    }
    state.done_keys.insert(key);
    state.records.push_back(r);
    const std::uint64_t base = r.campaign ? r.campaign->base_seed : r.seed - r.repeat_index;
    if (!state.base_seed) {
      state.base_seed = base;
    } else if (*state.base_seed != base) {
      ++state.seed_disagreements;
    }
  }
  return state;
}

std::uint64_t run_memory_budget(Sanitizer sanitizer) {
  switch (sanitizer) {
    case Sanitizer::kNone:
      return 512ull << 20;
    case Sanitizer::kAsan:
      return 1536ull << 20;
    case Sanitizer::kTsan:
      return 4096ull << 20;
  }
  return 512ull << 20;
}

int default_sweep_jobs(const std::vector<Sanitizer>& sanitizers, unsigned cores,
                       std::uint64_t available_bytes) {
  std::uint64_t budget = 0;
  for (auto s : sanitizers) budget = std::max(budget, run_memory_budget(s));
  std::uint64_t jobs = std::max(1u, cores);
  if (budget > 0 && available_bytes > 0) jobs = std::min(jobs, available_bytes / budget);
  return static_cast<int>(std::clamp<std::uint64_t>(jobs, 1, 256));
}

std::uint64_t available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string name;
  std::uint64_t kib = 0;
  std::string unit;
  while (in >> name >> kib >> unit) {
    if (name == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

std::string format_duration(double seconds) {
  auto s = static_cast<std::uint64_t>(std::max(0.0, seconds) + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

std::string progress_text(std::size_t done, std::size_t total, std::size_t failed,
                          std::size_t unknown, double elapsed_s) {
  std::string eta = "?";
  if (done > 0 && done <= total) {
    eta =
        format_duration(elapsed_s / static_cast<double>(done) * static_cast<double>(total - done));
  }
  const int width = static_cast<int>(std::to_string(total).size());
  return fmt::format("[{:>{}}/{}] failed {} unknown {}  elapsed {}  eta {}", done, width, total,
                     failed, unknown, format_duration(elapsed_s), eta);
}

}  // namespace faultline
