#include "harness/record/experiment_key.h"

#include <fmt/format.h>

#include "harness/record/record.h"
#include "harness/run/executor.h"

namespace faultline {

namespace {

// The limits that identify an experiment, in the one text form records use.
std::map<std::string, std::string> limits_of(const RunLimits& l) {
  RecordedLimits recorded;
  recorded.open_files = l.open_files;
  recorded.address_space_bytes = l.address_space_bytes;
  recorded.processes = l.processes;
  recorded.threads = l.threads;
  return recorded.key_fields();
}

}  // namespace

std::string ExperimentKey::params_text() const {
  return params.empty() ? "-" : key_value_text(params);
}

std::string ExperimentKey::injection_text() const {
  std::string out;
  if (!faults.empty()) out += fmt::format(" @fault={}", fmt::join(faults, ";"));
  if (!perturb.empty()) out += " @perturb=" + perturb;
  if (!nemesis.empty()) out += fmt::format(" @nemesis={}", fmt::join(nemesis, ";"));
  if (!limits.empty()) out += " @limits=" + key_value_text(limits);
  return out;
}

std::string ExperimentKey::id() const {
  std::string out =
      fmt::format("{}|{}|{}|{}", scenario, variant, sanitizer, key_value_text(params));
  if (!faults.empty()) out += fmt::format("|faults={}", fmt::join(faults, ";"));
  if (!perturb.empty()) out += "|perturb=" + perturb;
  if (!nemesis.empty()) out += fmt::format("|nemesis={}", fmt::join(nemesis, ";"));
  if (!limits.empty()) out += "|limits=" + key_value_text(limits);
  return out;
}

std::string ExperimentKey::label() const {
  return fmt::format("{} {} {} {}{}", scenario, variant, sanitizer, params_text(),
                     injection_text());
}

ExperimentKey experiment_key(const RunPlan& plan, const RunLimits& limits) {
  ExperimentKey key;
  key.scenario = plan.scenario;
  key.variant = plan.variant;
  key.sanitizer = sanitizer_name(plan.sanitizer);
  key.params = plan.params;
  key.faults = plan.injection.faults;
  key.perturb = plan.injection.perturb;
  key.nemesis = plan.injection.nemesis;
  key.limits = limits_of(limits);
  return key;
}

ExperimentKey experiment_key_of(const Record& r) {
  ExperimentKey key;
  key.scenario = r.scenario;
  key.variant = r.variant;
  key.sanitizer = r.sanitizer;
  key.params = r.params;
  for (const auto& f : r.faults) key.faults.push_back(f.spec);
  key.perturb = r.perturb;
  key.nemesis = r.nemesis;
  key.limits = r.limits.key_fields();
  return key;
}

std::string run_key(const ExperimentKey& key, std::uint64_t repeat_index) {
  return fmt::format("{}|r{}", key.id(), repeat_index);
}

std::string run_key(const RunPlan& plan, const RunLimits& limits) {
  return run_key(experiment_key(plan, limits), plan.repeat_index);
}

std::string run_key_of(const Record& r) {
  return run_key(experiment_key_of(r), r.repeat_index);
}

}  // namespace faultline
