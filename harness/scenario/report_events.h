// The report channel's vocabulary (docs/report-protocol.md), one definition for both ends: the
// scenario's Reporter writes these events, the driver's executor reads them. Each event is one
// JSON object on one line with a "type" field.
#pragma once

#include <string_view>

namespace faultline::report_event {

inline constexpr std::string_view kType = "type";
// {"type":"metric","name":N,"value":V[,"unit":U]}
inline constexpr std::string_view kMetric = "metric";
// {"type":"observation","kind":K,"count":C[,"detail":D][,"first_seen_ns":N]}: the scenario's own
// oracle; N is when it saw the first one, in nanoseconds of CLOCK_MONOTONIC (steady_clock)
inline constexpr std::string_view kObservation = "observation";
// {"type":"sample","series":S,"t":T,"value":V}: one point of a time series
inline constexpr std::string_view kSample = "sample";
// {"type":"note","text":T}
inline constexpr std::string_view kNote = "note";
// {"type":"timeline","t":T,"what":W[,"detail":D]}: an event in the run, such as a fault
inline constexpr std::string_view kTimeline = "timeline";
// {"type":"histogram","name":N,"h":H[,"unit":U,"divisor":D]}: a whole latency distribution in
// nanoseconds, LatencyHistogram::encode(), shown in U after dividing by D
inline constexpr std::string_view kHistogram = "histogram";
// {"type":"done"}: the scenario's body returned (a run without it did not complete)
inline constexpr std::string_view kDone = "done";

}  // namespace faultline::report_event
