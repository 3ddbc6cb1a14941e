#include "harness/stats.h"

#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <cmath>

namespace faultline {

Interval wilson_interval(std::uint64_t k, std::uint64_t n, double alpha) {
  if (n == 0) return {0.0, 1.0};
  const double z = boost::math::quantile(boost::math::normal(), 1.0 - alpha / 2.0);
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(k) / nn;
  const double z2 = z * z;
  const double center = (p + z2 / (2 * nn)) / (1 + z2 / nn);
  const double half = z / (1 + z2 / nn) * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
  // At k = 0 or k = n the bound is exactly 0 or 1; rounding must not move it.
  double low = k == 0 ? 0.0 : std::max(0.0, center - half);
  double high = k == n ? 1.0 : std::min(1.0, center + half);
  return {low, high};
}

}  // namespace faultline
