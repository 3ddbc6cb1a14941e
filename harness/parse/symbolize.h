// Symbolizing sanitizer reports in the driver instead of in the child.
//
// A sanitizer runtime symbolizes each report before it writes the first line of it, and GCC's
// runtimes (libbacktrace) first read the DWARF of every module the process has loaded, libc's
// separate debug file included when libc6-dbg is installed: 270-600 ms in the child on this
// kind of machine before a TSan report's first line came out, where the race itself was seen
// 30 ms after exec (docs/performance.md). So the driver runs its sanitizer builds with
// `symbolize=0` and a frame format that names each module by its path, and puts the functions
// and source lines in afterwards from the frames' module offsets (harness/run/symbolizer_tool.h
// looks them up with llvm-symbolizer). The text that comes out has the shape a symbolizing
// runtime would have printed, so the report parser reads it as it always did.
//
// Only frames that carry no function and name their module by an absolute path are touched:
//   #3 <null> <null> (/path/to/binary+0x79d0b)   (TSan, with the format sanitizer_env sets)
//   #3 0x55bc07cad59b  (/path/to/binary+0x60359b) (ASan, UBSan, LSan)
// and the location of a SUMMARY line made from one. A report the runtime symbolized itself, or
// a frame the lookup cannot place, stays as it was.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace faultline {

struct CodeAddress {
  std::string module;        // absolute path of the binary or shared object
  std::uint64_t offset = 0;  // in the module, as the runtime printed it
  auto operator<=>(const CodeAddress&) const = default;
};

// One source frame at an address; an address inside inlined code has several, innermost first.
struct SourceFrame {
  std::string function;  // demangled; "" when unknown
  std::string file;      // "" when unknown
  unsigned line = 0;
  unsigned column = 0;
};

// Looks up addresses, all of one call at once (a tool is started once per call). An address it
// could not place is absent from the answer or maps to no frames.
using SymbolLookup = std::function<std::map<CodeAddress, std::vector<SourceFrame>>(
    const std::vector<CodeAddress>& addresses)>;

class Symbolizer {
 public:
  explicit Symbolizer(SymbolLookup lookup) : lookup_(std::move(lookup)) {}

  // `text` with its unsymbolized frames symbolized (see above): each such frame becomes one frame
  // per source frame, numbered on within its stack as the runtime numbers inlined frames. Only
  // addresses not seen before are looked up; a module is known by its path, size and
  // modification time, so a rebuilt binary is looked up again. Thread-safe.
  std::string symbolize(std::string_view text);

  // How many lookups ran and how many addresses they were asked for (tests, the docs' figures).
  std::size_t lookups() const;
  std::size_t addresses_looked_up() const;

 private:
  // Every address in `wanted` with its frames: from the cache, the rest from one lookup.
  std::map<CodeAddress, std::vector<SourceFrame>> resolve(const std::vector<CodeAddress>& wanted);

  SymbolLookup lookup_;
  mutable std::mutex mu_;
  // Keyed by the module's identity ("path|size|mtime") and offset.
  std::map<std::pair<std::string, std::uint64_t>, std::vector<SourceFrame>> cache_;
  std::size_t lookups_ = 0;
  std::size_t addresses_ = 0;
};

// The frames of `text` that symbolize() would look up, in order of first appearance, each once.
std::vector<CodeAddress> unsymbolized_addresses(std::string_view text);

}  // namespace faultline
