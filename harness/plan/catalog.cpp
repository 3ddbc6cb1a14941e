#include "harness/plan/catalog.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <system_error>

#include "harness/plan/spec_cache.h"
#include "harness/probe/shown.h"
#include "harness/run/runner.h"

namespace faultline {
namespace fs = std::filesystem;

Sanitizer parse_sanitizer(const std::string& name) {
  if (name == "none") return Sanitizer::kNone;
  if (name == "tsan") return Sanitizer::kTsan;
  if (name == "asan") return Sanitizer::kAsan;
  throw UsageError(fmt::format("unknown sanitizer '{}': use none, tsan or asan", name));
}

std::string sanitizer_name(Sanitizer sanitizer) {
  switch (sanitizer) {
    case Sanitizer::kNone:
      return "none";
    case Sanitizer::kTsan:
      return "tsan";
    case Sanitizer::kAsan:
      return "asan";
  }
  return "none";
}

std::string preset_of(Sanitizer sanitizer) {
  return sanitizer == Sanitizer::kNone ? "release" : sanitizer_name(sanitizer);
}

fs::path Catalog::default_build_root() {
  if (const char* env = std::getenv("FAULTLINE_BUILD_ROOT"); env && *env) return fs::path(env);
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return fs::path("build");
  // Installed: <prefix>/bin/faultline, its builds in <prefix>/libexec/faultline/<preset>/.
  fs::path installed = self.parent_path().parent_path() / "libexec" / "faultline";
  if (self.parent_path().filename() == "bin" && fs::is_directory(installed, ec)) return installed;
  return self.parent_path().parent_path();  // the build tree: <root>/<preset>/faultline
}

std::vector<fs::path> Catalog::env_scenario_dirs() {
  std::vector<fs::path> dirs;
  const char* env = std::getenv("FAULTLINE_SCENARIO_PATH");
  if (env == nullptr) return dirs;
  std::string_view rest(env);
  while (!rest.empty()) {
    const std::size_t colon = rest.find(':');
    const std::string_view part = rest.substr(0, colon);
    if (!part.empty()) dirs.emplace_back(part);
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return dirs;
}

std::vector<fs::path> Catalog::roots() const {
  std::vector<fs::path> all{build_root_};
  all.insert(all.end(), scenario_dirs_.begin(), scenario_dirs_.end());
  return all;
}

fs::path Catalog::preset_dir(const std::string& id, Sanitizer sanitizer) const {
  for (const auto& root : roots()) {
    fs::path dir = root / preset_of(sanitizer);
    if (::access((dir / "scenarios" / id).c_str(), X_OK) == 0) return dir;
  }
  return build_root_ / preset_of(sanitizer);
}

fs::path Catalog::binary(const std::string& id, Sanitizer sanitizer) const {
  return preset_dir(id, sanitizer) / "scenarios" / id;
}

std::vector<std::string> Catalog::ids() const {
  std::vector<std::string> ids;
  for (const auto& root : roots()) {
    for (auto s : {Sanitizer::kNone, Sanitizer::kTsan, Sanitizer::kAsan}) {
      std::error_code ec;
      for (const auto& entry : fs::directory_iterator(root / preset_of(s) / "scenarios", ec)) {
        if (entry.is_regular_file() && ::access(entry.path().c_str(), X_OK) == 0) {
          ids.push_back(entry.path().filename().string());
        }
      }
    }
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

void Catalog::require_binary(const std::string& id, Sanitizer sanitizer) const {
  if (::access(binary(id, sanitizer).c_str(), X_OK) == 0) return;
  auto known = ids();
  if (std::find(known.begin(), known.end(), id) == known.end()) {
    auto near = near_names(id, known);
    std::string hint =
        near.empty() ? fmt::format("known scenarios: {} (faultline list)",
                                   known.empty() ? "none were built under " + build_root_.string()
                                                 : fmt::format("{}", fmt::join(known, ", ")))
                     : fmt::format("did you mean {}?", fmt::join(near, ", "));
    throw UsageError(fmt::format("unknown scenario '{}': {}", id, hint));
  }
  std::string preset = preset_of(sanitizer);
  if (::access((build_root_ / "release" / "scenarios" / id).c_str(), X_OK) != 0) {
    // A scenario of a scenario folder: its project builds each flavour the package has.
    throw UsageError(fmt::format(
        "no {} build of {} in its scenario folder: faultline_add_scenario builds the flavours the "
        "installed faultline has, so install faultline's {} build (cmake --install build/{}) and "
        "rebuild that project",
        preset, id, preset, preset));
  }
  throw UsageError(fmt::format(
      "no {} build of {} at {}: build it with `cmake --preset {} && cmake --build --preset {}` "
      "(or pass --build-root)",
      preset, id, binary(id, sanitizer).string(), preset, preset));
}

ScenarioSpec Catalog::spec(const std::string& id, Sanitizer sanitizer) const {
  require_binary(id, sanitizer);
  const std::string path = binary(id, sanitizer).string();
  const SpecCache cache = SpecCache::from_environment();
  if (const auto cached = cache.find(path)) {
    try {
      return spec_from_json(nlohmann::json::parse(*cached));
    } catch (const std::exception&) {  // an entry from another version of faultline: ask again
    }
  }
  RunRequest request;
  request.argv = {path, "--describe"};
  request.timeout = std::chrono::seconds(20);
  // A sanitizer runtime must not turn a description into a failure.
  request.env = {{"TSAN_OPTIONS", "atexit_sleep_ms=0"}, {"ASAN_OPTIONS", "detect_leaks=0"}};
  RunResult result = run_process(request);
  if (result.started && result.exit_code == 2) {
    // The scenario refused its own spec (expectations that cannot be judged, say): its words.
    std::string why = result.err.text.substr(0, result.err.text.find('\n'));
    throw UsageError(fmt::format("{} cannot be run: {}", id, why));
  }
  // Anything else in a scenarios folder is not a scenario (a stray program, a binary of another
  // version): the user's tree, not faultline, is to be fixed.
  auto not_a_scenario = [&](const std::string& why) {
    return UsageError(
        fmt::format("{} is not a faultline scenario ({}): remove it from {} or rebuild that preset",
                    request.argv[0], why, binary(id, sanitizer).parent_path().string()));
  };
  if (!result.started || result.exit_code != 0 || result.signal) {
    const std::string how = !result.started ? result.start_error
                            : result.signal
                                ? "killed by " + signal_name(*result.signal)
                                : fmt::format("exit status {}", result.exit_code.value_or(-1));
    throw not_a_scenario("`--describe` failed: " + shown(how));
  }
  ScenarioSpec spec;
  try {
    spec = spec_from_json(nlohmann::json::parse(result.out.text));
  } catch (const std::exception&) {  // not JSON, or JSON that is no spec
    throw not_a_scenario(result.out.text.empty() ? "`--describe` printed nothing"
                                                 : "`--describe` printed no scenario spec");
  }
  cache.store(path, result.out.text);
  return spec;
}

nlohmann::json Catalog::build_info(const std::string& id, Sanitizer sanitizer) const {
  std::ifstream in(preset_dir(id, sanitizer) / "build_info.json");
  if (!in) return nlohmann::json::object();
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception&) {
    return nlohmann::json::object();
  }
}

}  // namespace faultline
