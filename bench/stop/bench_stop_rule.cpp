// Runs to an answer under --stop settled against a fixed --repeat at the same error rates.
//
// The fixed test: the smallest N and threshold c such that "at least c of N runs showed the
// incident" has P(X >= c | p0) <= alpha and P(X < c | p1) <= beta (exact binomial). The
// sequential test: Wald's SPRT of harness/judge/stop_rule.h, simulated 100,000 times at each
// true rate: mean runs to a decision, the 95th percentile, and how often it decided "happens".
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>
#include <vector>

#include "harness/judge/stop_rule.h"

namespace {

using faultline::Sprt;
using faultline::SprtDecision;
using faultline::SprtOptions;

// P(X >= c) for X ~ Binomial(n, p).
double upper_tail(int n, int c, double p) {
  double total = 0;
  for (int k = c; k <= n; ++k) {
    total += std::exp(std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1) +
                      k * std::log(p) + (n - k) * std::log1p(-p));
  }
  return total;
}

std::pair<int, int> fixed_design(const SprtOptions& o) {
  for (int n = 1; n <= 10000; ++n) {
    for (int c = 0; c <= n; ++c) {
      if (upper_tail(n, c, o.p0) <= o.alpha && 1 - upper_tail(n, c, o.p1) <= o.beta) {
        return {n, c};
      }
    }
  }
  return {-1, -1};
}

struct Simulated {
  double mean = 0, p95 = 0, happens = 0;
};

Simulated simulate(const SprtOptions& o, double rate, int trials) {
  std::mt19937_64 rng(2026);
  std::bernoulli_distribution run(rate);
  std::vector<double> runs;
  int happens = 0;
  for (int t = 0; t < trials; ++t) {
    Sprt s(o);
    while (s.decision() == SprtDecision::kContinue) s.add(run(rng));
    runs.push_back(double(s.runs()));
    happens += s.decision() == SprtDecision::kHappens;
  }
  std::sort(runs.begin(), runs.end());
  Simulated r;
  for (double v : runs) r.mean += v / trials;
  r.p95 = runs[static_cast<std::size_t>(0.95 * (trials - 1))];
  r.happens = double(happens) / trials;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  SprtOptions o;
  if (argc == 5) {
    o = {std::atof(argv[1]), std::atof(argv[2]), std::atof(argv[3]), std::atof(argv[4])};
  } else if (argc != 1) {
    fmt::print(stderr, "usage: bench_stop_rule [p0 p1 alpha beta]\n");
    return 2;
  }
  const auto [n, c] = fixed_design(o);
  fmt::print(
      "SPRT {}; fixed design at the same error rates: N = {} runs, \"happens\" when at "
      "least {} show it\n\n",
      o.text(), n, c);
  fmt::print("{:>10} {:>14} {:>10} {:>16} {:>18}\n", "true rate", "mean runs", "p95 runs",
             "decided happens", "saved vs fixed N");
  std::vector<double> rates = {0.0, o.p0, 0.05, 0.1, o.p1, 0.3, 0.5, 0.9};
  std::sort(rates.begin(), rates.end());
  rates.erase(std::unique(rates.begin(), rates.end()), rates.end());
  for (double rate : rates) {
    const Simulated s = simulate(o, rate, 100000);
    fmt::print("{:>9.0f}% {:>14.2f} {:>10.0f} {:>15.1f}% {:>17.0f}%\n", 100 * rate, s.mean, s.p95,
               100 * s.happens, 100 * (1 - s.mean / n));
  }
  return 0;
}
