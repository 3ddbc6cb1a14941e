// splitmix64 (Vigna's splitmix64.c, after Steele, Lea and Flood): a well-mixed 64-bit number from
// any 64-bit input, the same on every machine and compiler. faultline's seeded choices (fault
// draws, perturbation, the nemesis plan, work times, campaign seeds) are hashes of (seed, stream,
// index) through it rather than draws from one shared generator, so a value does not depend on
// the order in which threads or connections ask for it.
#pragma once

#include <cstdint>

namespace faultline {

inline constexpr std::uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ull;

// The finaliser alone: a bijection of 64-bit values.
inline constexpr std::uint64_t mix64(std::uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// One splitmix64 step from state `x`: the finaliser of x + the golden gamma.
inline constexpr std::uint64_t splitmix64(std::uint64_t x) {
  return mix64(x + kGoldenGamma);
}

}  // namespace faultline
