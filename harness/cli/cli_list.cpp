#include <fmt/format.h>

#include <iostream>

#include "harness/cli/cli.h"
#include "harness/judge/summary.h"

namespace faultline::cli {
namespace po = boost::program_options;

namespace {
std::string type_word(ParamType t) {
  switch (t) {
    case ParamType::kInt:
      return "int";
    case ParamType::kDouble:
      return "number";
    case ParamType::kBool:
      return "bool";
    case ParamType::kString:
      return "string";
  }
  return "";
}

// The presets a scenario is built in.
std::vector<std::string> builds_of(const Catalog& catalog, const std::string& id,
                                   std::optional<Sanitizer>& first) {
  std::vector<std::string> builds;
  for (auto s : {Sanitizer::kNone, Sanitizer::kTsan, Sanitizer::kAsan}) {
    if (std::filesystem::exists(catalog.binary(id, s))) {
      builds.push_back(preset_of(s));
      if (!first) first = s;
    }
  }
  return builds;
}

// `from`: the scenario folder the builds are in ("" for the build root).
void print_scenario(const ScenarioSpec& spec, const std::vector<std::string>& builds,
                    const std::string& from) {
  std::cout << fmt::format(
      "{}  (seed {})\n  {}\n  oracle:   {}\n  variants: {}\n  builds:   {}{}\n  faults:   {}\n",
      spec.id, spec.seed, spec.title, spec.oracle, fmt::join(spec.variants, ", "),
      fmt::join(builds, ", "), from.empty() ? std::string() : " in " + from,
      spec.faults.empty()
          ? std::string("none (no network, no server process)")
          : fmt::format("{} (--fault, --nemesis; docs/faults.md)", fmt::join(spec.faults, ", ")));
  if (!spec.params.empty()) std::cout << "  parameters:\n";
  for (const auto& p : spec.params) {
    std::cout << fmt::format("    {:<20} {:<7} default {:<9} {}\n", p.name, type_word(p.type),
                             p.optional ? "(unset)" : p.default_value, p.help);
  }
  if (!spec.expectations.empty()) std::cout << "  expectations:\n";
  for (const auto& e : spec.expectations) std::cout << "    " << e.text() << "\n";
  std::cout << "\n";
}

}  // namespace

int list(const Args& args) {
  std::string build_root;
  std::string only;
  po::options_description desc(
      "usage: faultline list [NAME] [--json]\n\n"
      "Lists every built scenario with its variants, parameters (name, default, meaning), the\n"
      "seed write-up it recreates and the builds (presets) that contain it.\n\n"
      "examples:\n"
      "  faultline list\n"
      "  faultline list rpc-timeout-race --json\n"
      "  faultline list --scenarios ~/my-incidents/build/faultline-scenarios\n\n"
      "options");
  desc.add_options()("help,h", "this text")("json", "print the descriptions as JSON")(
      "build-root", po::value(&build_root)->value_name("DIR"), "folder holding the preset builds");
  RunOptions options;
  add_scenario_dirs_option(desc, options.scenario_dirs);
  auto vm = parse("list", args, desc, "name", po::value(&only), 1);
  if (vm.count("help")) {
    std::cout << desc;
    return kExitOk;
  }
  options.build_root = build_root;
  Catalog catalog = make_catalog(options);
  std::vector<std::string> ids = catalog.ids();
  if (!only.empty()) {
    if (std::find(ids.begin(), ids.end(), only) == ids.end()) {
      catalog.require_binary(only, Sanitizer::kNone);  // throws with the near names
    }
    ids = {only};
  }
  if (ids.empty()) {
    throw UsageError(
        fmt::format("no scenario binaries under {}: build them with `cmake --preset "
                    "release && cmake --build --preset release`",
                    catalog.build_root().string()));
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& id : ids) {
    std::optional<Sanitizer> any;
    const std::vector<std::string> builds = builds_of(catalog, id, any);
    ScenarioSpec spec;
    try {
      spec = catalog.spec(id, *any);
    } catch (const UsageError& e) {
      if (!only.empty()) throw;
      std::cerr << "faultline: list: skipped: " << e.what() << "\n";  // the others still list
      continue;
    }
    if (vm.count("json")) {
      nlohmann::json j = spec_to_json(spec);
      j["builds"] = builds;
      out.push_back(j);
    } else {
      const auto dir = catalog.preset_dir(id, *any).parent_path();
      print_scenario(spec, builds, dir == catalog.build_root() ? std::string() : dir.string());
    }
  }
  if (vm.count("json")) std::cout << out.dump(2) << "\n";
  return kExitOk;
}

}  // namespace faultline::cli
