// The counters of a scenario's server (ScenarioServer::measures()) when it runs as a --serve
// process: both ends of one small file. The server process appends a line with all its counters
// every few tens of milliseconds and when it stops; the body reads the file after (or during) the
// run. A killed incarnation's counts survive up to its last line, and a restarted one starts from
// zero, so the reader adds up the last line of each incarnation (each pid).
//
//   {"pid":1234,"measures":[{"name":"broadcasts_timed_out","value":3,"unit":""},...]}
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "harness/probe/measure.h"

namespace faultline {

// Where a --serve process with state file `state_path` keeps its counters.
std::filesystem::path server_counters_path(const std::string& state_path);

// Appends one line for this process (one write, O_APPEND). Errors are ignored: counters are
// evidence for the record, never a reason to stop serving.
void append_server_counters(const std::filesystem::path& path, const Measures& measures);

// The sum over incarnations of each counter, in the order first seen; a missing file is empty, a
// last line cut short (a writer killed mid-line) is ignored. Throws std::runtime_error for a
// malformed complete line.
Measures read_server_counters(const std::filesystem::path& path);

// The value of the measure named `name` (0 when there is none).
double measure_value(const Measures& measures, std::string_view name);

}  // namespace faultline
