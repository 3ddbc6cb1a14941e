#include "harness/fault/faults.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include "harness/probe/shown.h"

namespace faultline::fault {
namespace {

constexpr double kMaxMs = 600'000;           // ten minutes: longer than any run's time limit
constexpr double kMaxWindowMs = 86'400'000;  // a day: the longest time limit a run may have

}  // namespace

const std::vector<KindInfo>& kinds() {
  static const std::vector<KindInfo> table = {
      {Kind::kLatency,
       "latency",
       "tcp",
       "delays all data by ms +- jitter (uniform), keeping the stream's order",
       "latency:ms=5,jitter=2",
       {{"ms", std::nullopt, 0, kMaxMs, false, "added delay, ms"},
        {"jitter", 0.0, 0, kMaxMs, false, "+- uniform jitter around ms, ms"}}},
      {Kind::kBandwidth,
       "bandwidth",
       "tcp",
       "limits throughput to rate KB/s (1 KB = 1000 bytes, as Toxiproxy)",
       "bandwidth:rate=100",
       {{"rate", std::nullopt, 1, 10'000'000, true, "KB/s"}}},
      {Kind::kSlowClose,
       "slow_close",
       "tcp",
       "delays passing on a close (FIN) by delay ms",
       "slow_close:delay=500",
       {{"delay", std::nullopt, 0, kMaxMs, false, "ms"}}},
      {Kind::kTimeout,
       "timeout",
       "tcp",
       "drops all data, then closes the connection after ms (0: drops until it ends)",
       "timeout:ms=1000",
       {{"ms", 0.0, 0, kMaxMs, false, "ms from the connection's start; 0: never close"}}},
      {Kind::kResetPeer,
       "reset_peer",
       "tcp",
       "resets the connection (RST, SO_LINGER 0) timeout ms after it started",
       "reset_peer:timeout=100",
       {{"timeout", 0.0, 0, kMaxMs, false, "ms from the connection's start"}}},
      {Kind::kSlicer,
       "slicer",
       "tcp",
       "splits data into slices of average_size +- size_variation bytes, delay us apart",
       "slicer:average_size=16,size_variation=8,delay=100",
       {{"average_size", std::nullopt, 1, 1 << 20, true, "bytes"},
        {"size_variation", 0.0, 0, 1 << 20, true, "bytes, less than average_size"},
        {"delay", 0.0, 0, 10'000'000, false, "between slices, us"}}},
      {Kind::kLimitData,
       "limit_data",
       "tcp",
       "closes the connection once bytes have passed in the direction",
       "limit_data:bytes=1024",
       {{"bytes", std::nullopt, 0, 1e15, true, "bytes"}}},
      {Kind::kPartition,
       "partition",
       "tcp",
       "cuts the connections for ms from at ms after the proxy started, then heals; "
       "mode=hold (default: nothing moves, the senders' buffers fill, all of it arrives at the "
       "heal) or mode=drop (what the cut carried is lost); no RST, no close; direction: both",
       "partition:at=500,ms=1000,mode=hold",
       {{"at", 0.0, 0, kMaxMs, false, "start of the cut, ms after the proxy started"},
        {"ms", std::nullopt, 0, kMaxMs, false, "length of the cut, ms (0: never heals)"}}},
      {Kind::kUdpLoss,
       "udp-loss",
       "udp",
       "drops each datagram with probability p",
       "udp-loss:p=0.01",
       {{"p", std::nullopt, 0, 1, false, "probability"}}},
      {Kind::kUdpDuplicate,
       "udp-duplicate",
       "udp",
       "sends each datagram twice with probability p",
       "udp-duplicate:p=0.05",
       {{"p", std::nullopt, 0, 1, false, "probability"}}},
      {Kind::kUdpReorder,
       "udp-reorder",
       "udp",
       "holds a datagram (probability p) until gap later ones passed it, or hold ms",
       "udp-reorder:p=0.1,gap=2",
       {{"p", std::nullopt, 0, 1, false, "probability"},
        {"gap", 1.0, 1, 1000, true, "later datagrams that overtake a held one"},
        {"hold", 100.0, 0, kMaxMs, false, "longest a datagram is held, ms"}}},
      {Kind::kUdpDelay,
       "udp-delay",
       "udp",
       "delays each datagram by ms +- jitter (independently: jitter reorders)",
       "udp-delay:ms=20,jitter=5",
       {{"ms", std::nullopt, 0, kMaxMs, false, "added delay, ms"},
        {"jitter", 0.0, 0, kMaxMs, false, "+- uniform jitter around ms, ms"}}},
  };
  return table;
}

const KindInfo* find_kind(std::string_view name) {
  for (const auto& k : kinds()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

namespace {

std::string range_text(double min, double max, bool integer) {
  return fmt::format("{} {} to {}", integer ? "a whole number from" : "a number from", min, max);
}

// The keys every fault (or partition alone) takes besides its table's: direction, toxicity and
// partition's mode. Nothing when `key` is not one of them (`handled` false) or it is good.
std::optional<std::string> shared_key(const FaultSpec& spec, const std::string& key,
                                      const std::string& value, Fault& f, bool& handled) {
  handled = true;
  if (key == "direction") {
    if (value == "up" || value == "down" || value == "both") {
      f.up = value != "down";
      f.down = value != "up";
      return std::nullopt;
    }
    return fmt::format(
        "fault '{}': direction={} is not up, down or both (up: client to server; default {})",
        spec.kind, shown(value), f.kind == Kind::kPartition ? "both" : "down");
  }
  if (key == "toxicity") {
    auto v = spec_number(value);
    if (!v || *v < 0 || *v > 1) {
      return fmt::format(
          "fault '{}': toxicity={} must be a number from 0 to 1 (the probability that a "
          "connection is affected)",
          spec.kind, shown(value));
    }
    f.toxicity = *v;
    return std::nullopt;
  }
  if (f.switchable() && (key == "from-ms" || key == "until-ms")) {
    auto v = spec_number(value);
    if (!v || *v < 0 || *v > kMaxWindowMs) {
      return fmt::format(
          "fault '{}': {}={} must be a number from 0 to {} (ms after the proxy started; the "
          "fault acts from from-ms to until-ms)",
          spec.kind, key, shown(value), kMaxWindowMs);
    }
    (key == "from-ms" ? f.from_us : f.until_us) = *v * 1000.0;
    return std::nullopt;
  }
  if (key == (f.is_udp() ? "after-datagrams" : "after-bytes") && f.switchable()) {
    auto v = spec_number(value);
    if (!v || *v < 0 || *v > 1e15 || std::floor(*v) != *v) {
      return fmt::format(
          "fault '{}': {}={} must be a whole number from 0 to 10^15 (what passes clean on each "
          "{} and direction before the fault acts)",
          spec.kind, key, shown(value), f.is_udp() ? "client's flow" : "connection");
    }
    f.after = static_cast<std::uint64_t>(*v);
    return std::nullopt;
  }
  if (key == "mode" && f.kind == Kind::kPartition) {
    if (value != "hold" && value != "drop") {
      return fmt::format(
          "fault 'partition': mode={} is not hold (what the cut carried arrives at the heal) or "
          "drop (it is lost)",
          shown(value));
    }
    f.drop = value == "drop";
    return std::nullopt;
  }
  handled = false;
  return std::nullopt;
}

// The table's values into the fault's fields (times to microseconds); a problem that only the
// values together show.
std::optional<std::string> fill(Fault& f, const std::vector<double>& values) {
  auto ms_to_us = [](double ms) { return ms * 1000.0; };
  switch (f.kind) {
    case Kind::kLatency:
    case Kind::kUdpDelay:
      f.latency_us = ms_to_us(values[0]);
      f.jitter_us = ms_to_us(values[1]);
      break;
    case Kind::kBandwidth:
      f.rate_bytes_per_s = values[0] * 1000.0;
      break;
    case Kind::kSlowClose:
      f.delay_us = ms_to_us(values[0]);
      break;
    case Kind::kTimeout:
    case Kind::kResetPeer:
      f.timeout_us = ms_to_us(values[0]);
      break;
    case Kind::kSlicer:
      f.average_size = static_cast<std::uint64_t>(values[0]);
      f.size_variation = static_cast<std::uint64_t>(values[1]);
      f.delay_us = values[2];
      if (f.size_variation >= f.average_size) {
        return fmt::format(
            "fault 'slicer': size_variation={} must be less than average_size={} (bytes)",
            f.size_variation, f.average_size);
      }
      break;
    case Kind::kLimitData:
      f.bytes = static_cast<std::uint64_t>(values[0]);
      break;
    case Kind::kPartition:
      f.at_us = ms_to_us(values[0]);
      f.for_us = ms_to_us(values[1]);
      break;
    case Kind::kUdpLoss:
    case Kind::kUdpDuplicate:
      f.p = values[0];
      break;
    case Kind::kUdpReorder:
      f.p = values[0];
      f.gap = static_cast<std::uint64_t>(values[1]);
      f.hold_us = ms_to_us(values[2]);
      break;
  }
  return std::nullopt;
}

// Validates and, when `out` is given, fills it. Returns the first problem.
std::optional<std::string> check(const FaultSpec& spec, Fault* out) {
  const KindInfo* info = find_kind(spec.kind);
  if (info == nullptr) {
    std::vector<std::string_view> names;
    for (const auto& k : kinds()) names.push_back(k.name);
    return fmt::format(
        "unknown fault '{}': the network faults are {}; syscall and clock act on the process "
        "(docs/faults.md)",
        spec.kind, fmt::join(names, ", "));
  }
  Fault f;
  f.kind = info->kind;
  f.text = spec.text;
  if (f.kind == Kind::kPartition) f.up = f.down = true;  // a cut link carries nothing either way
  std::vector<double> values;
  for (const auto& p : info->params) values.push_back(p.default_value.value_or(NAN));
  for (const auto& [key, value] : spec.params) {
    bool handled = false;
    if (auto problem = shared_key(spec, key, value, f, handled)) return problem;
    if (handled) continue;
    std::size_t i = 0;
    while (i < info->params.size() && info->params[i].key != key) ++i;
    if (i == info->params.size()) {
      std::vector<std::string_view> keys;
      for (const auto& p : info->params) keys.push_back(p.key);
      keys.push_back("direction");
      keys.push_back("toxicity");
      if (f.kind == Kind::kPartition) keys.push_back("mode");
      if (f.switchable()) {
        keys.insert(keys.end(), {"from-ms", "until-ms"});
        keys.push_back(f.is_udp() ? "after-datagrams" : "after-bytes");
      }
      return fmt::format("fault '{}' has no key '{}': its keys are {}", spec.kind, shown(key),
                         fmt::join(keys, ", "));
    }
    const ParamInfo& p = info->params[i];
    auto v = spec_number(value);
    if (!v || *v < p.min || *v > p.max || (p.integer && std::floor(*v) != *v)) {
      return fmt::format("fault '{}': {}={} is {}: use {} ({})", spec.kind, key, shown(value),
                         v ? "out of range" : "not a number", range_text(p.min, p.max, p.integer),
                         p.help);
    }
    values[i] = *v;
  }
  for (std::size_t i = 0; i < info->params.size(); ++i) {
    if (std::isnan(values[i])) {
      const ParamInfo& p = info->params[i];
      return fmt::format("fault '{}' needs {}=N: {} ({}); for example {}", spec.kind, p.key,
                         range_text(p.min, p.max, p.integer), p.help, info->example);
    }
  }
  if (auto problem = fill(f, values)) return problem;
  if (f.until_us != 0 && f.until_us <= f.from_us) {
    return fmt::format("fault '{}': until-ms={} must be after from-ms={} (the fault's window)",
                       spec.kind, f.until_us / 1000, f.from_us / 1000);
  }
  if (out != nullptr) *out = std::move(f);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> validate_fault(const FaultSpec& spec) {
  return check(spec, nullptr);
}

std::string fault_family(const FaultSpec& spec) {
  const KindInfo* info = find_kind(spec.kind);
  return info ? std::string(info->family) : std::string();
}

Fault make_fault(const FaultSpec& spec) {
  Fault f;
  if (auto problem = check(spec, &f)) throw std::invalid_argument(*problem);
  return f;
}

Fault make_fault(std::string_view text) {
  return make_fault(parse_fault_spec(text));
}

}  // namespace faultline::fault
