// Where the driver finds scenario binaries and what it learns from them.
//
// The presets put each build in <build-root>/<preset>/ (release, tsan, asan); a scenario's
// binary is <build-root>/<preset>/scenarios/<id>. An installed faultline has the same layout
// under <prefix>/libexec/faultline. Scenarios built outside this tree (faultline_add_scenario of
// the installed CMake package) lie the same way under a scenario folder of their own, given with
// --scenarios DIR or FAULTLINE_SCENARIO_PATH: the catalog searches the build root first, then
// each scenario folder, so the built-in ids cannot be shadowed. The driver builds nothing: a
// missing build is an error that names the command that makes it.
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
  explicit Catalog(std::filesystem::path build_root,
                   std::vector<std::filesystem::path> scenario_dirs = {})
      : build_root_(std::move(build_root)), scenario_dirs_(std::move(scenario_dirs)) {}

  // $FAULTLINE_BUILD_ROOT, else the build root of the running driver: <prefix>/libexec/faultline
  // when it is installed as <prefix>/bin/faultline, else the build tree (<root>/release/faultline).
  static std::filesystem::path default_build_root();
  // The folders of $FAULTLINE_SCENARIO_PATH (colon-separated; empty parts skipped).
  static std::vector<std::filesystem::path> env_scenario_dirs();

  const std::filesystem::path& build_root() const { return build_root_; }
  const std::vector<std::filesystem::path>& scenario_dirs() const { return scenario_dirs_; }
  // The preset folder that holds the scenario's binary for `sanitizer`: under the first root
  // (build root, then the scenario folders) that has it, else under the build root.
  std::filesystem::path preset_dir(const std::string& id, Sanitizer sanitizer) const;
  std::filesystem::path binary(const std::string& id, Sanitizer sanitizer) const;

  // Ids of every scenario binary found in any preset build, sorted.
  std::vector<std::string> ids() const;
  // The spec the binary describes (--describe). Throws UsageError for an unknown id (naming the
  // near ones) or a missing build (naming the command that builds it).
  ScenarioSpec spec(const std::string& id, Sanitizer sanitizer) const;
  // Checks that the build for `sanitizer` has the scenario; throws UsageError otherwise.
  void require_binary(const std::string& id, Sanitizer sanitizer) const;
  // build_info.json of the build that holds the scenario (empty object when missing).
  nlohmann::json build_info(const std::string& id, Sanitizer sanitizer) const;

 private:
  std::vector<std::filesystem::path> roots() const;  // the build root, then the scenario folders
  std::filesystem::path build_root_;
  std::vector<std::filesystem::path> scenario_dirs_;
};

}  // namespace faultline
