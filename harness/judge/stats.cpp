#include "harness/judge/stats.h"

#include <algorithm>
#include <boost/math/distributions/hypergeometric.hpp>
#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <numeric>

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

double fisher_exact_two_sided(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t d) {
  const std::uint64_t row_a = a + b;
  const std::uint64_t yes = a + c;
  const std::uint64_t total = a + b + c + d;
  if (row_a == 0 || row_a == total || yes == 0 || yes == total) return 1.0;
  // a ~ Hypergeometric(yes "defective" items in total, row_a drawn).
  const boost::math::hypergeometric_distribution<double> dist(
      static_cast<unsigned>(yes), static_cast<unsigned>(row_a), static_cast<unsigned>(total));
  const double observed = boost::math::pdf(dist, static_cast<unsigned>(a));
  // Tables as likely as the observed one must count even when rounding makes them differ in the
  // last bits; R uses the same relative tolerance.
  const double cutoff = observed * (1 + 1e-7);
  const std::uint64_t lo = row_a + yes > total ? row_a + yes - total : 0;
  const std::uint64_t hi = std::min(row_a, yes);
  double p = 0;
  for (std::uint64_t x = lo; x <= hi; ++x) {
    double px = boost::math::pdf(dist, static_cast<unsigned>(x));
    if (px <= cutoff) p += px;
  }
  return std::min(1.0, p);
}

std::string utest_method_name(UTestMethod method) {
  switch (method) {
    case UTestMethod::kExact:
      return "exact";
    case UTestMethod::kNormal:
      return "normal";
    case UTestMethod::kNone:
      return "none";
  }
  return "none";
}

namespace {

// How many ways m of the ranks 1..m+n sum to m(m+1)/2 + u, for every u in 0..mn: the exact null
// distribution of U (times C(m+n, m)). Built by adding one rank at a time; only additions, so
// the counts stay exact in doubles up to 2^53 and accurate well beyond.
std::vector<double> u_counts(std::size_t m, std::size_t n) {
  const std::size_t total = m + n;
  const std::size_t max_sum = m * (2 * total - m + 1) / 2;
  // ways[j][s]: j ranks chosen so far, summing to s.
  std::vector<std::vector<double>> ways(m + 1, std::vector<double>(max_sum + 1, 0.0));
  ways[0][0] = 1;
  for (std::size_t rank = 1; rank <= total; ++rank) {
    for (std::size_t j = std::min(m, rank); j >= 1; --j) {
      for (std::size_t s = max_sum; s >= rank; --s) ways[j][s] += ways[j - 1][s - rank];
    }
  }
  const std::size_t min_sum = m * (m + 1) / 2;
  return {ways[m].begin() + static_cast<std::ptrdiff_t>(min_sum), ways[m].end()};
}

}  // namespace

UTestResult mann_whitney_u(const std::vector<double>& x, const std::vector<double>& y) {
  UTestResult result;
  const std::size_t m = x.size();
  const std::size_t n = y.size();
  if (m == 0 || n == 0) return result;

  // Midranks of the pooled sample.
  struct Value {
    double v;
    bool from_x;
  };
  std::vector<Value> pooled;
  for (double v : x) pooled.push_back({v, true});
  for (double v : y) pooled.push_back({v, false});
  std::sort(pooled.begin(), pooled.end(), [](const Value& l, const Value& r) { return l.v < r.v; });
  const double total = static_cast<double>(m + n);
  double rank_sum_x = 0;
  double tie_term = 0;  // sum of t^3 - t over groups of t tied values
  for (std::size_t i = 0; i < pooled.size();) {
    std::size_t j = i;
    while (j < pooled.size() && pooled[j].v == pooled[i].v) ++j;
    const double t = static_cast<double>(j - i);
    const double midrank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (std::size_t k = i; k < j; ++k) {
      if (pooled[k].from_x) rank_sum_x += midrank;
    }
    tie_term += t * t * t - t;
    i = j;
  }
  const double mm = static_cast<double>(m);
  const double nn = static_cast<double>(n);
  result.u = rank_sum_x - mm * (mm + 1) / 2;
  result.ties = tie_term > 0;

  if (!result.ties && m < kUTestExactLimit && n < kUTestExactLimit) {
    result.method = UTestMethod::kExact;
    std::vector<double> counts = u_counts(m, n);
    const double all = std::accumulate(counts.begin(), counts.end(), 0.0);
    // Without ties U is a whole number.
    const auto u = static_cast<std::size_t>(std::llround(result.u));
    double below = 0;  // P(U <= u)
    for (std::size_t k = 0; k <= u; ++k) below += counts[k];
    double above = 0;  // P(U >= u)
    for (std::size_t k = u; k < counts.size(); ++k) above += counts[k];
    result.p_value = std::min(1.0, 2 * std::min(below, above) / all);
    return result;
  }

  result.method = UTestMethod::kNormal;
  const double mean = mm * nn / 2;
  const double variance = mm * nn / 12 * ((total + 1) - tie_term / (total * (total - 1)));
  if (!(variance > 0)) {  // every value tied: no evidence either way
    result.p_value = 1;
    return result;
  }
  const double distance = std::max(0.0, std::abs(result.u - mean) - 0.5);
  const double z = distance / std::sqrt(variance);
  const boost::math::normal standard;
  result.p_value = std::min(1.0, 2 * boost::math::cdf(boost::math::complement(standard, z)));
  return result;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

}  // namespace faultline
