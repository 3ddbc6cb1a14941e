#include "harness/run/symbolizer_tool.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "harness/run/runner.h"

namespace faultline {
namespace {

// At most this many addresses on one command line; more make another process.
constexpr std::size_t kAddressesPerProcess = 2000;

std::optional<std::string> in_path(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    return ::access(name.c_str(), X_OK) == 0 ? std::optional(name) : std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "/usr/bin:/bin";
  while (true) {
    const std::size_t colon = rest.find(':');
    const std::string dir(rest.substr(0, colon));
    if (!dir.empty()) {
      const std::string candidate = dir + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return std::nullopt;
}

// "file:line:column" (llvm-symbolizer's location line; "??:0:0" when unknown).
void take_location(std::string_view s, SourceFrame& f) {
  auto last_number = [&s]() -> unsigned {
    const std::size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return 0;
    const std::string digits(s.substr(colon + 1));
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return 0;
    s = s.substr(0, colon);
    return static_cast<unsigned>(std::strtoul(digits.c_str(), nullptr, 10));
  };
  f.column = last_number();
  f.line = last_number();
  if (s != "??" && !s.empty()) f.file = std::string(s);
}

// llvm-symbolizer's answer: per address, pairs of lines (function, location), innermost inlined
// frame first, then a blank line.
std::vector<std::vector<SourceFrame>> parse_answer(std::string_view out) {
  std::vector<std::vector<SourceFrame>> blocks(1);
  std::vector<std::string_view> pending;
  while (!out.empty()) {
    const std::size_t nl = out.find('\n');
    const std::string_view line = out.substr(0, nl);
    out.remove_prefix(nl == std::string_view::npos ? out.size() : nl + 1);
    if (line.empty()) {
      blocks.emplace_back();
      pending.clear();
      continue;
    }
    pending.push_back(line);
    if (pending.size() == 2) {
      SourceFrame f;
      if (pending[0] != "??") f.function = std::string(pending[0]);
      take_location(pending[1], f);
      blocks.back().push_back(std::move(f));
      pending.clear();
    }
  }
  if (blocks.back().empty()) blocks.pop_back();
  return blocks;
}

}  // namespace

std::optional<std::string> find_symbolizer_tool() {
  if (const char* chosen = std::getenv("FAULTLINE_SYMBOLIZER"); chosen && *chosen) {
    if (std::string_view(chosen) == "none") return std::nullopt;
    return in_path(chosen);
  }
  for (const char* name :
       {"llvm-symbolizer", "llvm-symbolizer-14", "/usr/lib/llvm-14/bin/llvm-symbolizer"}) {
    if (auto found = in_path(name)) return found;
  }
  return std::nullopt;
}

SymbolLookup llvm_symbolizer_lookup(std::string tool) {
  return [tool = std::move(tool)](const std::vector<CodeAddress>& addresses) {
    std::map<CodeAddress, std::vector<SourceFrame>> found;
    std::map<std::string, std::vector<std::uint64_t>> by_module;
    for (const auto& a : addresses) by_module[a.module].push_back(a.offset);
    for (const auto& [module, offsets] : by_module) {
      for (std::size_t from = 0; from < offsets.size(); from += kAddressesPerProcess) {
        const std::size_t to = std::min(offsets.size(), from + kAddressesPerProcess);
        RunRequest request;
        request.argv = {tool, "--obj=" + module};
        for (std::size_t i = from; i < to; ++i) {
          request.argv.push_back(fmt::format("0x{:x}", offsets[i]));
        }
        request.timeout = std::chrono::seconds(60);
        request.output_cap_bytes = 256u << 20;
        const RunResult result = run_process(request);
        if (!result.started || result.timed_out || result.out.dropped_bytes > 0) continue;
        const auto blocks = parse_answer(result.out.text);
        for (std::size_t i = from; i < to && i - from < blocks.size(); ++i) {
          found[{module, offsets[i]}] = blocks[i - from];
        }
      }
    }
    return found;
  };
}

Symbolizer* driver_symbolizer() {
  static const std::unique_ptr<Symbolizer> symbolizer = []() -> std::unique_ptr<Symbolizer> {
    const auto tool = find_symbolizer_tool();
    if (!tool) return nullptr;
    return std::make_unique<Symbolizer>(llvm_symbolizer_lookup(*tool));
  }();
  return symbolizer.get();
}

}  // namespace faultline
