#include "harness/judge/stop_rule.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

namespace faultline {
namespace {

double parse_probability(std::string_view key, std::string_view value) {
  std::string copy(value);
  char* end = nullptr;
  const double v = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size() || !(v > 0 && v < 1)) {
    throw std::invalid_argument(fmt::format(
        "--settle {}={}: {} takes a number between 0 and 1, e.g. {}=0.05", key, value, key, key));
  }
  return v;
}

}  // namespace

std::string SprtOptions::text() const {
  return fmt::format("p0={},p1={},alpha={},beta={}", p0, p1, alpha, beta);
}

SprtOptions parse_sprt_options(std::string_view text) {
  SprtOptions o;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    const std::string_view kv = text.substr(at, comma - at);
    const std::size_t eq = kv.find('=');
    const std::string_view key = kv.substr(0, eq);
    if (eq == std::string_view::npos) {
      throw std::invalid_argument(
          fmt::format("--settle '{}' is not key=value: write e.g. p0=0.02,p1=0.2", kv));
    }
    const double v = parse_probability(key, kv.substr(eq + 1));
    if (key == "p0") {
      o.p0 = v;
    } else if (key == "p1") {
      o.p1 = v;
    } else if (key == "alpha") {
      o.alpha = v;
    } else if (key == "beta") {
      o.beta = v;
    } else {
      throw std::invalid_argument(
          fmt::format("--settle has no key '{}': its keys are p0, p1, alpha and beta", key));
    }
    at = comma + 1;
  }
  if (!(o.p0 < o.p1)) {
    throw std::invalid_argument(
        fmt::format("--settle p0={} is not below p1={}: the test tells 'at most p0' from 'at "
                    "least p1'",
                    o.p0, o.p1));
  }
  if (!(o.alpha < 0.5 && o.beta < 0.5)) {
    throw std::invalid_argument("--settle alpha and beta must be below 0.5");
  }
  return o;
}

Sprt::Sprt(const SprtOptions& o)
    : hit_step_(std::log(o.p1 / o.p0)),
      miss_step_(std::log((1 - o.p1) / (1 - o.p0))),
      upper_(std::log((1 - o.beta) / o.alpha)),
      lower_(std::log(o.beta / (1 - o.alpha))) {}

void Sprt::add(bool hit) {
  ++runs_;
  hits_ += hit ? 1 : 0;
  llr_ += hit ? hit_step_ : miss_step_;
}

SprtDecision Sprt::decision() const {
  if (llr_ >= upper_) return SprtDecision::kHappens;
  if (llr_ <= lower_) return SprtDecision::kDoesNotHappen;
  return SprtDecision::kContinue;
}

std::optional<StopRule> parse_stop_rule(std::string_view text) {
  if (text == "never") return StopRule::kNever;
  if (text == "first-hit") return StopRule::kFirstHit;
  if (text == "settled") return StopRule::kSettled;
  return std::nullopt;
}

StopTracker::StopTracker(StopRule rule, SprtOptions sprt) : rule_(rule), options_(sprt) {}

void StopTracker::add(const std::string& key, const std::string& label, Outcome outcome) {
  auto [it, fresh] = states_.try_emplace(key, State{Sprt(options_)});
  if (fresh) {
    order_.push_back(key);
    it->second.label = label;
  }
  State& s = it->second;
  if (!is_decided(outcome) || s.stopped) return;  // a run already in flight when it stopped
  ++s.decided;
  const bool hit = is_hit(outcome);
  if (hit && !s.first_hit) s.first_hit = s.decided;
  s.sprt.add(hit);
  if (rule_ == StopRule::kFirstHit) s.stopped = hit;
  if (rule_ == StopRule::kSettled) s.stopped = s.sprt.decision() != SprtDecision::kContinue;
}

bool StopTracker::stopped(const std::string& key) const {
  auto it = states_.find(key);
  return it != states_.end() && it->second.stopped;
}

std::vector<std::string> StopTracker::lines(std::uint64_t cap) const {
  std::vector<std::string> out;
  for (const auto& key : order_) {
    const State& s = states_.at(key);
    std::string what;
    if (rule_ == StopRule::kFirstHit) {
      what = s.first_hit ? fmt::format("first hit at decided run {}", *s.first_hit)
                         : fmt::format("no hit in {} decided runs", s.decided);
    } else {
      const auto d = s.sprt.decision();
      const std::string hits =
          fmt::format("{} hit{}", s.sprt.hits(), s.sprt.hits() == 1 ? "" : "s");
      if (d == SprtDecision::kContinue) {
        what = fmt::format("not settled in {} decided runs ({}; --repeat {} was the cap)",
                           s.decided, hits, cap);
      } else {
        const bool happens = d == SprtDecision::kHappens;
        what = fmt::format(
            "settled after {} decided runs ({}): the incident shows in at {} {:g}% "
            "of runs",
            s.decided, hits, happens ? "least" : "most",
            100 * (happens ? options_.p1 : options_.p0));
      }
    }
    out.push_back(fmt::format("{}: {}", s.label, what));
  }
  return out;
}

}  // namespace faultline
