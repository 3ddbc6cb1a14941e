// Statistics used to report and compare reproduction rates.
#pragma once

#include <cstdint>

namespace faultline {

struct Interval {
  double low = 0;
  double high = 0;
};

// Wilson score interval for k successes in n trials at confidence 1 - alpha (default 95 %).
// n = 0 gives [0, 1]: nothing is known.
Interval wilson_interval(std::uint64_t k, std::uint64_t n, double alpha = 0.05);

}  // namespace faultline
