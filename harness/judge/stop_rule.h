// Stop rules for `faultline run --repeat N --stop RULE` (docs/stop-rules.md): an experiment's
// remaining runs are not started once its answer is in.
//
//   first-hit  the first run that shows the incident (GoBench's runs-to-first-failure);
//   settled    Wald's sequential probability ratio test of H0 "the incident shows in at most
//              p0 of runs" against H1 "in at least p1", with error rates alpha (deciding H1 when
//              H0 holds) and beta (deciding H0 when H1 holds). Wald's bounds keep the real error
//              rates at most alpha / (1 - beta) and beta / (1 - alpha); a simulation test checks
//              them. --repeat N caps the runs: an experiment not settled by then says so.
//
// Unknown runs say nothing either way and are not counted.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/judge/judge.h"

namespace faultline {

struct SprtOptions {
  double p0 = 0.02, p1 = 0.2;        // the rates told apart: "at most p0" against "at least p1"
  double alpha = 0.05, beta = 0.05;  // error rates
  std::string text() const;          // "p0=0.02,p1=0.2,alpha=0.05,beta=0.05"
};
// "p0=0.01,p1=0.3,alpha=0.05,beta=0.1", any subset; throws std::invalid_argument naming the key
// or the value and what it takes (0 < p0 < p1 < 1, alpha and beta in (0, 0.5)).
SprtOptions parse_sprt_options(std::string_view text);

enum class SprtDecision { kContinue, kHappens, kDoesNotHappen };

class Sprt {
 public:
  explicit Sprt(const SprtOptions& options);
  void add(bool hit);
  SprtDecision decision() const;
  double log_likelihood_ratio() const { return llr_; }
  std::uint64_t runs() const { return runs_; }
  std::uint64_t hits() const { return hits_; }

 private:
  double hit_step_, miss_step_, upper_, lower_;
  double llr_ = 0;
  std::uint64_t runs_ = 0, hits_ = 0;
};

enum class StopRule { kNever, kFirstHit, kSettled };
// "never", "first-hit" or "settled"; nothing for any other word.
std::optional<StopRule> parse_stop_rule(std::string_view text);

// The rule's state for every experiment of a batch (by experiment key id).
class StopTracker {
 public:
  StopTracker(StopRule rule, SprtOptions sprt);
  // A finished run of the experiment with key id `key` (`label`: the key for people).
  void add(const std::string& key, const std::string& label, Outcome outcome);
  bool stopped(const std::string& key) const;  // its answer is in: start no more runs
  // One line per experiment, in order of first run: how its runs ended under the rule.
  std::vector<std::string> lines(std::uint64_t cap) const;
  StopRule rule() const { return rule_; }

 private:
  struct State {
    Sprt sprt;
    std::uint64_t decided = 0;
    std::optional<std::uint64_t> first_hit;  // 1-based among the decided runs
    bool stopped = false;
    std::string label = {};
  };
  StopRule rule_;
  SprtOptions options_;
  std::map<std::string, State> states_;
  std::vector<std::string> order_;
};

}  // namespace faultline
