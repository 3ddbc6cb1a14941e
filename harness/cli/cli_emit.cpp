// faultline emit: one event on the report channel of the run that started this process
// (docs/report-protocol.md), so a shell, Python or Go reproduction run by `faultline exec`
// reports what it saw in one line: `faultline emit observe lost_update 114770`.
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iostream>

#include "harness/cli/cli.h"
#include "harness/judge/summary.h"
#include "harness/scenario/scenario_api.h"

namespace faultline::cli {
namespace {

const char* const kEmitUsage =
    "usage: faultline emit observe KIND [COUNT] [DETAIL]\n"
    "       faultline emit metric NAME VALUE [UNIT]\n"
    "       faultline emit note TEXT\n\n"
    "Writes one event to the report channel of the run faultline started this process in\n"
    "($FAULTLINE_REPORT, set by faultline exec and run): an observation of symptom KIND seen\n"
    "COUNT times (default 1; 0 means checked and not seen), a metric, or a note. A count above 0\n"
    "becomes a symptom of the run, which --expect KIND judges. Exit codes: 0 written, 2 bad\n"
    "input or not inside a faultline run. See docs/report-protocol.md.\n\n"
    "examples:\n"
    "  faultline exec --expect lost_update --observes lost_update -- ./race.sh\n"
    "  # in race.sh:\n"
    "  [ \"$total\" -eq 200000 ] || faultline emit observe lost_update $((200000 - total))\n"
    "  faultline emit metric total \"$total\" increments\n";

std::uint64_t count_of(const std::string& text) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) {
    throw UsageError(
        fmt::format("emit observe: count '{}' is not a whole number >= 0 (e.g. 1)", text));
  }
  return n;
}

double value_of(const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v)) {
    throw UsageError(
        fmt::format("emit metric: value '{}' is not a finite number (e.g. 2.5)", text));
  }
  return v;
}

}  // namespace

int emit(const Args& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kEmitUsage;
    return args.empty() ? kExitUsage : kExitOk;
  }
  const std::string& kind = args[0];
  const std::size_t n = args.size() - 1;
  auto arity = [&](std::size_t lo, std::size_t hi, const char* form) {
    if (n < lo || n > hi)
      throw UsageError(fmt::format("emit {}: usage: faultline emit {}", kind, form));
  };
  if (kind == "observe") {
    arity(1, 3, "observe KIND [COUNT] [DETAIL]");
  } else if (kind == "metric") {
    arity(2, 3, "metric NAME VALUE [UNIT]");
  } else if (kind == "note") {
    arity(1, 1, "note TEXT (quote it)");
  } else {
    throw UsageError(fmt::format("emit: '{}' is not an event: give observe, metric or note", kind));
  }
  const char* path = std::getenv("FAULTLINE_REPORT");
  if (path == nullptr || *path == '\0') {
    throw UsageError(
        "emit: FAULTLINE_REPORT is not set: emit writes to the report channel of a run, so "
        "start the command with faultline exec -- COMMAND");
  }
  // Every value checked before the channel is opened: a refused event touches nothing.
  const std::uint64_t count = kind == "observe" && n >= 2 ? count_of(args[2]) : 1;
  const double value = kind == "metric" ? value_of(args[2]) : 0;
  Reporter report{std::string(path)};
  if (kind == "observe") {
    report.observation(args[1], count, n >= 3 ? args[3] : "");
  } else if (kind == "metric") {
    report.metric(args[1], value, n >= 3 ? args[3] : "");
  } else {
    report.note(args[1]);
  }
  return kExitOk;
}

}  // namespace faultline::cli
