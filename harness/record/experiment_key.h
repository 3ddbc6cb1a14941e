// The identity of an experiment: everything that defines what was run, and nothing that merely
// repeats it (seed, repeat index, run id). The run summary, the sweep table, compare, export,
// score, replay and --resume all group and match runs by this one key.
//
// Two text forms:
//   id()     rpc-timeout-race|buggy|tsan|callers=10,timeout-us=1000|faults=latency:ms=5
//            the machine form, stable across versions; a run's key is id() + "|r<repeat>"
//   label()  rpc-timeout-race buggy tsan callers=10,timeout-us=1000 @fault=latency:ms=5
//            for people; "-" stands for no parameters
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "harness/run/runner.h"

namespace faultline {

struct RunPlan;
struct Record;

// "k=v,k=v" of key-value pairs in their order: the one text form of parameters, fault
// parameters and limits.
template <class Pairs>
std::string key_value_text(const Pairs& pairs) {
  std::string out;
  for (const auto& [k, v] : pairs) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

struct ExperimentKey {
  std::string scenario;
  std::string variant;
  std::string sanitizer;
  std::map<std::string, std::string> params;
  std::vector<std::string> faults;            // network fault specs, as given
  std::string perturb;                        // "" = off
  std::vector<std::string> nemesis;           // process fault specs, as given
  std::map<std::string, std::string> limits;  // open_files, address_space_bytes, processes, threads

  std::string params_text() const;  // "k=v,k=v", or "-" for none
  // " @fault=... @perturb=... @nemesis=... @limits=...", only those that are set
  std::string injection_text() const;
  std::string id() const;
  std::string label() const;
  auto operator<=>(const ExperimentKey&) const = default;
};

ExperimentKey experiment_key(const RunPlan& plan, const RunLimits& limits);
// From a record of any schema version (records without faults or limits match runs without).
ExperimentKey experiment_key_of(const Record& record);

std::string run_key(const ExperimentKey& key, std::uint64_t repeat_index);
std::string run_key(const RunPlan& plan, const RunLimits& limits);
// Recomputed from the record's fields, so records of older versions resume and match too.
std::string run_key_of(const Record& record);

}  // namespace faultline
