// A named number with its unit, as a server or client under test tallies it: servers hand their
// counters out as a list of these (their stats' measures()), and the scenario runtime reports the
// list as metrics. Plain data: it knows nothing of how a scenario reports.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace faultline {

struct Measure {
  template <class Number>
  Measure(std::string measure_name, Number number, std::string measure_unit = {})
      : name(std::move(measure_name)),
        value(static_cast<double>(number)),
        unit(std::move(measure_unit)) {}

  std::string name;
  double value = 0;
  std::string unit;
};

using Measures = std::vector<Measure>;

}  // namespace faultline
