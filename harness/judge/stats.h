// Statistics used to report and compare reproduction rates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace faultline {

struct Interval {
  double low = 0;
  double high = 0;
};

// Wilson score interval for k successes in n trials at confidence 1 - alpha (default 95 %).
// n = 0 gives [0, 1]: nothing is known.
Interval wilson_interval(std::uint64_t k, std::uint64_t n, double alpha = 0.05);

// Fisher's exact test, two-sided, on the 2x2 table
//
//            yes   no
//   sample A  a     b
//   sample B  c     d
//
// a is hypergeometric given the margins (Boost.Math's hypergeometric_distribution); the p-value
// sums the probabilities of every table with the same margins that is at most as likely as the
// observed one (the usual definition, as in R's fisher.test). A table with an empty row or
// column gives 1: it carries no evidence.
double fisher_exact_two_sided(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t d);

enum class UTestMethod {
  kExact,   // the exact null distribution of U: no ties and both samples under kExactLimit
  kNormal,  // normal approximation with tie correction of the variance and continuity correction
  kNone,    // a sample was empty: no test
};
std::string utest_method_name(UTestMethod method);

struct UTestResult {
  double u = 0;        // U of sample x: pairs (x_i, y_j) with x_i > y_j, ties counting one half
  double p_value = 1;  // two-sided
  UTestMethod method = UTestMethod::kNone;
  bool ties = false;  // some value occurs more than once in the pooled sample
};

// Samples smaller than this (both) and free of ties get the exact test, as R's wilcox.test does;
// beyond it the normal approximation is good and the exact table grows as n^3.
inline constexpr std::size_t kUTestExactLimit = 50;

// Mann-Whitney U test (two-sided) of x against y. Exact: p = min(1, 2 min(P(U <= u), P(U >= u)))
// from the permutation distribution of U. Otherwise z = (|U - mn/2| - 1/2) / sigma with sigma
// corrected for ties, and p from Boost.Math's standard normal distribution.
UTestResult mann_whitney_u(const std::vector<double>& x, const std::vector<double>& y);

// Median of the values (the mean of the middle two for an even count); 0 for none.
double median(std::vector<double> values);

}  // namespace faultline
