#include "harness/experiment_key.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "harness/executor.h"
#include "harness/json_field.h"

namespace faultline {

namespace {

std::string joined(const std::map<std::string, std::string>& kv) {
  std::string out;
  for (const auto& [k, v] : kv) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

std::string as_text(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::map<std::string, std::string> limits_of(const RunLimits& l) {
  std::map<std::string, std::string> out;
  if (l.open_files) out["open_files"] = std::to_string(*l.open_files);
  if (l.address_space_bytes) out["address_space_bytes"] = std::to_string(*l.address_space_bytes);
  if (l.processes) out["processes"] = std::to_string(*l.processes);
  if (l.threads) out["threads"] = std::to_string(*l.threads);
  return out;
}

}  // namespace

std::string ExperimentKey::params_text() const {
  return params.empty() ? "-" : joined(params);
}

std::string ExperimentKey::injection_text() const {
  std::string out;
  if (!faults.empty()) out += fmt::format(" @fault={}", fmt::join(faults, ";"));
  if (!perturb.empty()) out += " @perturb=" + perturb;
  if (!nemesis.empty()) out += fmt::format(" @nemesis={}", fmt::join(nemesis, ";"));
  if (!limits.empty()) out += " @limits=" + joined(limits);
  return out;
}

std::string ExperimentKey::id() const {
  std::string out = fmt::format("{}|{}|{}|{}", scenario, variant, sanitizer, joined(params));
  if (!faults.empty()) out += fmt::format("|faults={}", fmt::join(faults, ";"));
  if (!perturb.empty()) out += "|perturb=" + perturb;
  if (!nemesis.empty()) out += fmt::format("|nemesis={}", fmt::join(nemesis, ";"));
  if (!limits.empty()) out += "|limits=" + joined(limits);
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

ExperimentKey experiment_key_of(const nlohmann::json& r) {
  ExperimentKey key;
  key.scenario = r.value("scenario", "");
  key.variant = r.value("variant", "");
  key.sanitizer = r.value("sanitizer", "");
  for (const auto& [k, v] : field_or_null(r, "params").items()) {
    key.params[k] = as_text(v);
  }
  for (const auto& f : field_or_null(r, "faults")) {
    key.faults.push_back(f.is_object() ? f.value("spec", "") : as_text(f));
  }
  if (r.contains("perturb") && r["perturb"].is_string()) key.perturb = r["perturb"];
  for (const auto& n : field_or_null(r, "nemesis")) {
    key.nemesis.push_back(as_text(n));
  }
  for (const auto& [k, v] : field_or_null(r, "limits").items()) {
    if (k == "timeout_s" || k == "threads_enforced_by") continue;
    key.limits[k] = as_text(v);
  }
  return key;
}

std::string run_key(const ExperimentKey& key, std::uint64_t repeat_index) {
  return fmt::format("{}|r{}", key.id(), repeat_index);
}

std::string run_key(const RunPlan& plan, const RunLimits& limits) {
  return run_key(experiment_key(plan, limits), plan.repeat_index);
}

std::string run_key_of(const nlohmann::json& r) {
  return run_key(experiment_key_of(r), r.value("repeat_index", std::uint64_t{0}));
}

}  // namespace faultline
