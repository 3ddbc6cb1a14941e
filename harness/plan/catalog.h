// Where the driver finds scenario binaries and what it learns from them.
//
// The presets put each build in <build-root>/<preset>/ (release, tsan, asan); a scenario's
// binary is <build-root>/<preset>/scenarios/<id>. The driver builds nothing: a missing build is
// an error that names the command that makes it.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/scenario/scenario_api.h"

namespace faultline {

// A problem with the user's input: the CLI prints the message as one line and exits with 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Sanitizer { kNone, kTsan, kAsan };

Sanitizer parse_sanitizer(const std::string& name);  // throws UsageError
std::string sanitizer_name(Sanitizer sanitizer);
std::string preset_of(Sanitizer sanitizer);  // none -> release

class Catalog {
 public:
  explicit Catalog(std::filesystem::path build_root) : build_root_(std::move(build_root)) {}

  // The build root next to the running driver (<root>/release/faultline), or $FAULTLINE_BUILD_ROOT.
  static std::filesystem::path default_build_root();

  const std::filesystem::path& build_root() const { return build_root_; }
  std::filesystem::path preset_dir(Sanitizer sanitizer) const;
  std::filesystem::path binary(const std::string& id, Sanitizer sanitizer) const;

  // Ids of every scenario binary found in any preset build, sorted.
  std::vector<std::string> ids() const;
  // The spec the binary describes (--describe). Throws UsageError for an unknown id (naming the
  // near ones) or a missing build (naming the command that builds it).
  ScenarioSpec spec(const std::string& id, Sanitizer sanitizer) const;
  // Checks that the build for `sanitizer` has the scenario; throws UsageError otherwise.
  void require_binary(const std::string& id, Sanitizer sanitizer) const;
  // build_info.json of a preset's build (empty object when missing).
  nlohmann::json build_info(Sanitizer sanitizer) const;

 private:
  std::filesystem::path build_root_;
};

}  // namespace faultline
