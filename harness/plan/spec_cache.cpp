#include "harness/plan/spec_cache.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace faultline {
namespace fs = std::filesystem;
namespace {

// A binary changed less than this long ago is not cached (see the header).
constexpr std::chrono::seconds kSettle{3};

std::int64_t ns_of(const timespec& t) {
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

// "path|dev|ino|size|mtime|ctime" of the binary as it is now; nothing when it cannot be stat'ed.
std::optional<std::string> key_of(const std::string& binary, const struct stat& st) {
  std::error_code ec;
  const fs::path path = fs::canonical(binary, ec);
  if (ec) return std::nullopt;
  return fmt::format("{}|{}|{}|{}|{}|{}", path.string(), st.st_dev, st.st_ino, st.st_size,
                     ns_of(st.st_mtim), ns_of(st.st_ctim));
}

std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string entry_path(const std::string& dir, const std::string& key) {
  return fmt::format("{}/spec-{:016x}.json", dir, fnv1a(key));
}

}  // namespace

SpecCache SpecCache::from_environment() {
  const char* off = std::getenv("FAULTLINE_SPEC_CACHE");
  if (off != nullptr && std::string(off) == "0") return SpecCache("");
  if (const char* dir = std::getenv("FAULTLINE_CACHE_DIR"); dir != nullptr && *dir) {
    return SpecCache(dir);
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg) {
    return SpecCache(std::string(xdg) + "/faultline");
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home) {
    return SpecCache(std::string(home) + "/.cache/faultline");
  }
  return SpecCache("");
}

std::optional<std::string> SpecCache::find(const std::string& binary) const {
  struct stat st {};
  if (dir_.empty() || ::stat(binary.c_str(), &st) != 0) return std::nullopt;
  const auto key = key_of(binary, st);
  if (!key) return std::nullopt;
  std::ifstream in(entry_path(dir_, *key));
  if (!in) return std::nullopt;
  const auto entry = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!entry.is_object() || entry.value("key", "") != *key || !entry.contains("describe") ||
      !entry["describe"].is_string()) {
    return std::nullopt;  // another binary's entry under a colliding name, or a torn file
  }
  return entry["describe"].get<std::string>();
}

void SpecCache::store(const std::string& binary, const std::string& describe_output) const {
  struct stat st {};
  if (dir_.empty() || ::stat(binary.c_str(), &st) != 0) return;
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  if (std::chrono::nanoseconds(now).count() - ns_of(st.st_mtim) <
          std::chrono::nanoseconds(kSettle).count() ||
      std::chrono::nanoseconds(now).count() - ns_of(st.st_ctim) <
          std::chrono::nanoseconds(kSettle).count()) {
    return;
  }
  const auto key = key_of(binary, st);
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (!key || ec) return;
  // Written aside and renamed: a reader sees the old entry or the whole new one.
  const std::string path = entry_path(dir_, *key);
  const std::string temp = fmt::format("{}.{}.tmp", path, ::getpid());
  {
    std::ofstream out(temp, std::ios::trunc);
    out << nlohmann::json{{"key", *key}, {"describe", describe_output}}.dump() << "\n";
    if (!out) {
      fs::remove(temp, ec);
      return;
    }
  }
  fs::rename(temp, path, ec);
  if (ec) fs::remove(temp, ec);
}

}  // namespace faultline
