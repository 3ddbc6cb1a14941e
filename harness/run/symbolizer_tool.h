// The driver's symbolizer for sanitizer reports (harness/parse/symbolize.h): llvm-symbolizer,
// started once per lookup with every address of one module on its command line.
#pragma once

#include <optional>
#include <string>

#include "harness/parse/symbolize.h"

namespace faultline {

// The tool: FAULTLINE_SYMBOLIZER if set (a path or a name in PATH; "none" leaves symbolizing to
// the sanitizer runtime in the child, as before), else llvm-symbolizer, llvm-symbolizer-14 or
// /usr/lib/llvm-14/bin/llvm-symbolizer (Debian's llvm-14). Nothing when none is there.
std::optional<std::string> find_symbolizer_tool();

// Looks addresses up with `tool` (one process per module, at most 60 s each). An address in a
// module it cannot read comes back with no frames.
SymbolLookup llvm_symbolizer_lookup(std::string tool);

// The symbolizer every run of this driver shares (one cache: the runs of a batch repeat the same
// stacks), or null when there is no tool: then the sanitizer runtimes symbolize in the child.
Symbolizer* driver_symbolizer();

}  // namespace faultline
