// The fault (network, syscall, clock), perturbation and nemesis spec parsers on one arbitrary
// text: each accepts it or says why in one line; the driver's checks and the parsers agree.
#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "harness/fault/child_faults.h"
#include "harness/fault/faults.h"
#include "harness/nemesis/nemesis.h"
#include "harness/probe/perturb.h"
#include "harness/scenario/fault_spec.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using faultline::fuzz::check_message;
  const std::string_view text = faultline::fuzz::as_text(data, size);
  try {
    const faultline::FaultSpec spec = faultline::parse_fault_spec(text);
    if (faultline::fault::is_child_fault(text)) {  // syscall and clock: the driver's own checks
      const auto child_error = faultline::fault::validate_child_fault(spec);
      if (child_error) check_message(*child_error, size);
      const auto together = faultline::fault::check_child_faults({std::string(text)}, false);
      FUZZ_CHECK(child_error.has_value() == together.has_value(),
                 "check_child_faults and validate_child_fault disagree on one spec");
    } else if (const auto error = faultline::fault::validate_fault(spec)) {
      check_message(*error, size);
    } else {
      (void)faultline::fault::make_fault(spec);  // what validate accepts, the fault is made of
    }
  } catch (const std::invalid_argument& e) {
    check_message(e.what(), size);
  }
  const auto perturb_error = faultline::perturb::validate_perturb_spec(text);
  if (perturb_error) check_message(*perturb_error, size);
  try {
    (void)faultline::perturb::parse_spec(text);
    FUZZ_CHECK(!perturb_error, "parse_spec accepts what validate_perturb_spec refused");
  } catch (const std::invalid_argument& e) {
    FUZZ_CHECK(perturb_error.has_value(), "validate_perturb_spec accepts what parse_spec refuses");
  }
  const auto nemesis_error = faultline::nemesis::validate_nemesis_spec(text);
  if (nemesis_error) check_message(*nemesis_error, size);
  try {
    const auto spec = faultline::nemesis::parse_nemesis_spec(text);
    FUZZ_CHECK(!nemesis_error, "parse_nemesis_spec accepts what validate refused");
    (void)faultline::nemesis::plan_nemesis({spec}, 1, 10.0);
  } catch (const std::invalid_argument& e) {
    FUZZ_CHECK(nemesis_error.has_value(), "validate accepts what parse_nemesis_spec refuses");
  }
  return 0;
}
