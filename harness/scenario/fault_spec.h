// The syntax shared by --fault, --perturb and --nemesis: `kind[:key=value,key=value...]`, or
// for --perturb just `key=value,...`. This layer checks the syntax only; what each kind means,
// which keys it takes and their ranges are checked by the layer that implements it (the fault
// proxy, the perturbation points, the nemesis). docs/faults.md lists them all.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace faultline {

struct FaultSpec {
  std::string text;                                         // as given
  std::string kind;                                         // e.g. "latency"
  std::vector<std::pair<std::string, std::string>> params;  // in the order given

  // The value of `key`, or nothing.
  std::optional<std::string> get(std::string_view key) const;
};

// Throws std::invalid_argument with a message that shows the expected form.
FaultSpec parse_fault_spec(std::string_view text);

// `key=value,key=value`; throws std::invalid_argument. `what` names the flag in messages.
std::vector<std::pair<std::string, std::string>> parse_key_values(std::string_view text,
                                                                  std::string_view what);

// A spec's value as a finite number (the whole text, as strtod reads it), or nothing.
std::optional<double> spec_number(std::string_view value);

// {"spec": text, "kind": kind, "params": {key: value}} for the record.
nlohmann::json fault_spec_json(const FaultSpec& spec);

}  // namespace faultline
