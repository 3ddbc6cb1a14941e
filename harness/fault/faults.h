// The network faults: their names, parameters and ranges (the one table docs/faults.md and
// `faultline proxy --help` are written from), validation, and the parsed form the proxy runs.
//
// TCP faults follow Toxiproxy's toxics (latency, bandwidth, slow_close, timeout, reset_peer,
// slicer, limit_data), with partition (a window in which a direction carries nothing, then
// heals) of our own; UDP faults (udp-loss, udp-duplicate, udp-reorder, udp-delay) are ours.
// Every fault takes `direction=up|down|both` (up: client to server; default down, as Toxiproxy's
// `stream` defaults to downstream) and `toxicity=0..1` (the probability that a connection, or
// for UDP a client's flow, is affected; drawn once per connection from the run's seed).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/scenario/fault_spec.h"

namespace faultline::fault {

enum class Kind {
  kLatency,
  kBandwidth,
  kSlowClose,
  kTimeout,
  kResetPeer,
  kSlicer,
  kLimitData,
  kPartition,
  kUdpLoss,
  kUdpDuplicate,
  kUdpReorder,
  kUdpDelay,
};

// One parameter of a fault kind. A parameter without a default must be given.
struct ParamInfo {
  std::string_view key;
  std::optional<double> default_value;
  double min;
  double max;
  bool integer;
  std::string_view help;  // meaning, with the unit
};

struct KindInfo {
  Kind kind;
  std::string_view name;    // as written in a spec: "latency", "udp-loss"
  std::string_view family;  // "tcp" or "udp"
  std::string_view help;    // one line
  std::string_view example;
  std::vector<ParamInfo> params;  // without direction and toxicity, which every kind takes
};

// Every kind, in the order docs/faults.md lists them.
const std::vector<KindInfo>& kinds();
const KindInfo* find_kind(std::string_view name);

// Checks kind, keys, numbers and ranges; a message naming the key and the allowed range, or
// nothing when the spec is good. Cheap and side-effect free (the driver calls it).
std::optional<std::string> validate_fault(const FaultSpec& spec);
// "tcp" or "udp"; "" for an unknown kind.
std::string fault_family(const FaultSpec& spec);

// A validated fault, as the proxy applies it. Times in microseconds, sizes in bytes.
struct Fault {
  Kind kind = Kind::kLatency;
  std::string text;  // the spec as given
  bool up = false;   // client -> server
  bool down = true;  // server -> client
  double toxicity = 1.0;
  double latency_us = 0, jitter_us = 0;  // latency, udp-delay
  double rate_bytes_per_s = 0;           // bandwidth
  double delay_us = 0;                   // slow_close; slicer (between slices)
  double timeout_us = 0;                 // timeout, reset_peer (0: timeout never closes)
  std::uint64_t average_size = 0;        // slicer
  std::uint64_t size_variation = 0;      // slicer
  std::uint64_t bytes = 0;               // limit_data
  double at_us = 0, for_us = 0;          // partition: its window from the proxy's start (for 0:
                                         // never heals)
  bool drop = false;                     // partition: data of the window is lost, not held
  double p = 0;                          // udp-loss, udp-duplicate, udp-reorder
  std::uint64_t gap = 1;                 // udp-reorder: later datagrams that overtake it
  double hold_us = 0;                    // udp-reorder: longest a datagram is held
  // Switched on and off (a fault plan's phases compile to these keys, docs/faults.md "Fault
  // plans"): the fault acts only from `from-ms` to `until-ms` after the proxy started (until 0:
  // to the end), and only once `after-bytes` bytes (TCP) or `after-datagrams` datagrams (UDP) of
  // the connection's (flow's) direction have passed clean. Latency, bandwidth, slicer and the
  // UDP faults take them (switchable()).
  double from_us = 0, until_us = 0;
  std::uint64_t after = 0;
  bool is_udp() const { return kind >= Kind::kUdpLoss; }
  bool switchable() const {
    return is_udp() || kind == Kind::kLatency || kind == Kind::kBandwidth || kind == Kind::kSlicer;
  }
  // Whether the fault acts at `since_start_us` after the proxy started, on a direction that has
  // passed `passed` bytes (datagrams) before.
  bool acts(double since_start_us, std::uint64_t passed) const {
    return since_start_us >= from_us && (until_us == 0 || since_start_us < until_us) &&
           passed >= after;
  }
};

// Parses and validates; throws std::invalid_argument with validate_fault's message.
Fault make_fault(const FaultSpec& spec);
Fault make_fault(std::string_view text);

}  // namespace faultline::fault
