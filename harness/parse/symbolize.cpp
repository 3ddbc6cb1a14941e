#include "harness/parse/symbolize.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <optional>
#include <set>

namespace faultline {
namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool all_hex(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_hex(c)) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// "(/abs/module+0x1f)" at `open` in `s`: the module, the offset and where the ')' is.
struct ModuleRef {
  CodeAddress address;
  std::size_t close = 0;
};

std::optional<ModuleRef> module_ref(std::string_view s, std::size_t open) {
  if (open + 1 >= s.size() || s[open] != '(' || s[open + 1] != '/') return std::nullopt;
  const std::size_t close = s.find(')', open);
  if (close == std::string_view::npos) return std::nullopt;
  const std::string_view inside = s.substr(open + 1, close - open - 1);
  const std::size_t plus = inside.rfind("+0x");
  if (plus == std::string_view::npos || !all_hex(inside.substr(plus + 3))) return std::nullopt;
  const std::string_view hex = inside.substr(plus + 3);
  if (hex.size() > 16) return std::nullopt;
  ModuleRef ref;
  ref.address.module = std::string(inside.substr(0, plus));
  ref.address.offset = std::stoull(std::string(hex), nullptr, 16);
  ref.close = close;
  return ref;
}

// An unsymbolized frame line, split into what its symbolized lines keep.
struct RawFrame {
  std::string_view indent;
  std::uint64_t number = 0;
  std::string_view pc;  // "0x55bc..." in the ASan form, "" in TSan's
  CodeAddress address;
  std::string_view trailer;  // after the ')', e.g. " (BuildId: ...)"
};

std::optional<RawFrame> raw_frame(std::string_view line) {
  RawFrame f;
  std::size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  f.indent = line.substr(0, i);
  if (i >= line.size() || line[i] != '#') return std::nullopt;
  std::size_t k = i + 1;
  while (k < line.size() && line[k] >= '0' && line[k] <= '9') ++k;
  if (k == i + 1 || k >= line.size() || line[k] != ' ' || k - i > 6) return std::nullopt;
  f.number = std::stoull(std::string(line.substr(i + 1, k - i - 1)));
  const std::size_t open = line.find("(/", k);
  if (open == std::string_view::npos) return std::nullopt;
  const std::string_view middle = trim(line.substr(k + 1, open - k - 1));
  if (middle == "<null> <null>") {
    f.pc = {};
  } else if (middle.starts_with("0x") && all_hex(middle.substr(2))) {
    f.pc = middle;
  } else {
    return std::nullopt;  // a function is there already: symbolized by the runtime
  }
  auto ref = module_ref(line, open);
  if (!ref) return std::nullopt;
  f.address = std::move(ref->address);
  f.trailer = line.substr(ref->close + 1);
  return f;
}

// "SUMMARY: <tool>: <kind> (/module+0x1f)": where the location starts.
std::optional<std::pair<std::size_t, ModuleRef>> summary_ref(std::string_view line) {
  if (!line.starts_with("SUMMARY: ")) return std::nullopt;
  const std::size_t open = line.rfind(" (/");
  if (open == std::string_view::npos) return std::nullopt;
  auto ref = module_ref(line, open + 1);
  if (!ref || !trim(line.substr(ref->close + 1)).empty()) return std::nullopt;
  return std::make_pair(open + 1, std::move(*ref));
}

std::string location(const SourceFrame& s, bool column) {
  if (s.file.empty()) return "";
  if (column && s.column > 0) return fmt::format("{}:{}:{}", s.file, s.line, s.column);
  return fmt::format("{}:{}", s.file, s.line);
}

// How a module is known in the cache: its path, size and modification time.
std::string module_identity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return path;
  return fmt::format("{}|{}|{}.{}", path, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

template <class F>
void for_each_line(std::string_view text, F&& f) {
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const bool has_nl = nl != std::string_view::npos;
    f(text.substr(0, has_nl ? nl : text.size()), has_nl);
    text.remove_prefix(has_nl ? nl + 1 : text.size());
  }
}

}  // namespace

std::vector<CodeAddress> unsymbolized_addresses(std::string_view text) {
  std::vector<CodeAddress> out;
  std::set<CodeAddress> seen;
  for_each_line(text, [&](std::string_view line, bool) {
    std::optional<CodeAddress> a;
    if (auto f = raw_frame(line)) {
      a = std::move(f->address);
    } else if (auto s = summary_ref(line)) {
      a = std::move(s->second.address);
    }
    if (a && seen.insert(*a).second) out.push_back(std::move(*a));
  });
  return out;
}

namespace {

using Placed = std::map<CodeAddress, std::vector<SourceFrame>>;

// The source frames of `a`, or null when the lookup could not place it.
const std::vector<SourceFrame>* placed(const Placed& known, const CodeAddress& a) {
  auto it = known.find(a);
  if (it == known.end() || it->second.empty()) return nullptr;
  const SourceFrame& inner = it->second.front();
  if (inner.function.empty() && inner.file.empty()) return nullptr;
  return &it->second;
}

// One unsymbolized frame as the runtime would have printed it, a line per source frame, numbered
// from its own number plus `shift`.
void write_frame(std::string& out, const RawFrame& f, const std::vector<SourceFrame>& frames,
                 std::uint64_t shift) {
  for (std::size_t j = 0; j < frames.size(); ++j) {
    const SourceFrame& s = frames[j];
    const std::string function = s.function.empty() ? "<null>" : s.function;
    const std::string module = fmt::format("({}+0x{:x})", f.address.module, f.address.offset);
    if (j > 0) out += '\n';
    if (f.pc.empty()) {  // TSan's shape: function, file:line, (module+offset)
      const std::string where = location(s, false);
      out += fmt::format("{}#{} {} {} {}{}", f.indent, f.number + shift + j, function,
                         where.empty() ? "<null>" : where, module, f.trailer);
    } else {  // ASan's: pc in function file:line:column, or (module+offset) without a file
      const std::string where = location(s, true);
      out += fmt::format("{}#{} {} in {} {}{}", f.indent, f.number + shift + j, f.pc, function,
                         where.empty() ? module : where, f.trailer);
    }
  }
}

// A SUMMARY line's "(module+offset)" replaced by "file:line[:column] in function", as the runtime
// writes it when it symbolizes (TSan without the column).
void write_summary(std::string& out, std::string_view line, std::size_t at, const ModuleRef& ref,
                   const SourceFrame& inner) {
  const bool tsan = line.find("ThreadSanitizer") != std::string_view::npos;
  const std::string where = location(inner, !tsan);
  out += line.substr(0, at);
  out += where.empty() ? std::string(line.substr(at, ref.close + 1 - at)) : where;
  if (!inner.function.empty()) out += " in " + inner.function;
}

}  // namespace

std::map<CodeAddress, std::vector<SourceFrame>> Symbolizer::resolve(
    const std::vector<CodeAddress>& wanted) {
  std::map<std::string, std::string> identity;
  for (const auto& a : wanted) {
    if (!identity.contains(a.module)) identity[a.module] = module_identity(a.module);
  }
  Placed known;
  std::vector<CodeAddress> missing;
  {
    std::lock_guard lock(mu_);
    for (const auto& a : wanted) {
      auto it = cache_.find({identity[a.module], a.offset});
      if (it != cache_.end()) {
        known[a] = it->second;
      } else {
        missing.push_back(a);
      }
    }
  }
  if (missing.empty()) return known;
  // Outside the lock: a lookup starts a process, and parallel runs should not queue behind it.
  Placed found = lookup_(missing);
  std::lock_guard lock(mu_);
  ++lookups_;
  addresses_ += missing.size();
  for (const auto& a : missing) {
    auto it = found.find(a);
    std::vector<SourceFrame> frames = it != found.end() ? it->second : std::vector<SourceFrame>{};
    cache_[{identity[a.module], a.offset}] = frames;
    known[a] = std::move(frames);
  }
  return known;
}

std::string Symbolizer::symbolize(std::string_view text) {
  const std::vector<CodeAddress> wanted = unsymbolized_addresses(text);
  if (wanted.empty()) return std::string(text);
  const Placed known = resolve(wanted);
  std::string out;
  out.reserve(text.size() + text.size() / 2);
  std::uint64_t shift = 0;  // frames added to this stack so far by inlined code
  for_each_line(text, [&](std::string_view line, bool has_nl) {
    if (auto f = raw_frame(line)) {
      if (f->number == 0) shift = 0;
      if (const auto* frames = placed(known, f->address)) {
        write_frame(out, *f, *frames, shift);
        shift += frames->size() - 1;
      } else if (shift == 0) {
        out += line;
      } else {  // unplaced, after inlined frames: the same line, numbered on
        out += fmt::format("{}#{}{}", f->indent, f->number + shift,
                           line.substr(line.find(' ', f->indent.size())));
      }
    } else if (auto s = summary_ref(line); s && placed(known, s->second.address) != nullptr) {
      write_summary(out, line, s->first, s->second, placed(known, s->second.address)->front());
    } else {
      out += line;
    }
    if (has_nl) out += '\n';
  });
  return out;
}

std::size_t Symbolizer::lookups() const {
  std::lock_guard lock(mu_);
  return lookups_;
}

std::size_t Symbolizer::addresses_looked_up() const {
  std::lock_guard lock(mu_);
  return addresses_;
}

}  // namespace faultline
