// What a scenario binary's `--describe` printed, kept between drivers: `faultline run` needs a
// scenario's spec before its first run, and asking the binary costs a process start (2 ms for a
// release build, 10 ms under TSan, on a 2-core VM: docs/performance.md) on every command.
//
// An entry is keyed by the binary's path, device, inode, size, mtime and ctime, as make and git
// tell a changed file. Like git's "racily clean" index entries, a binary modified within the
// last few seconds is not cached: a rewrite in the same clock tick could keep every key field.
// Where the cache lives: $FAULTLINE_CACHE_DIR, else $XDG_CACHE_HOME/faultline, else
// ~/.cache/faultline; FAULTLINE_SPEC_CACHE=0 turns it off. A cache that cannot be read or
// written is skipped, never an error.
#pragma once

#include <optional>
#include <string>

namespace faultline {

class SpecCache {
 public:
  // The cache of this environment (disabled when it has no folder or is turned off).
  static SpecCache from_environment();
  explicit SpecCache(std::string dir) : dir_(std::move(dir)) {}

  // The describe output stored for `binary` as it is now, if any.
  std::optional<std::string> find(const std::string& binary) const;
  // Stores `describe_output` for `binary` (unless it changed too recently to be keyed safely).
  void store(const std::string& binary, const std::string& describe_output) const;

 private:
  std::string dir_;  // "" when disabled
};

}  // namespace faultline
