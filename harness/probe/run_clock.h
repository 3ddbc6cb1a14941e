// The one time axis of a run (docs/record-schema.md): seconds since this process started, which
// is within a clock tick (10 ms) of when the driver exec'd it, so that the scenario's timeline
// events, samples and latency series line up with the driver's own times (first_symptom_s,
// duration_s) in the record and in the report's timelines.
#pragma once

#include <chrono>

namespace faultline {

// The steady-clock moment this process started: the kernel's start time of the process
// (/proc/self/stat, in clock ticks since boot) carried over to steady_clock once, on first use.
std::chrono::steady_clock::time_point process_start();

// Seconds from process_start() to `t` (to now when not given); never negative.
double run_seconds(std::chrono::steady_clock::time_point t);
double run_seconds();

}  // namespace faultline
