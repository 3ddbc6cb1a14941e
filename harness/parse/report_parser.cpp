#include "harness/parse/report_parser.h"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <tuple>
#include <utility>

// One pass over the lines. At a line that starts a report (a headline), the parser for that
// family consumes the report's lines and returns where it stopped; any other line is skipped.
// Every decision looks at one line, or a bounded number ahead, so the whole is linear.

namespace faultline {
namespace {

using Lines = std::vector<std::string_view>;

constexpr std::size_t kMaxFrames = 8;
// Frames read from one stack before the runtime ones are dropped; deeper frames never matter.
constexpr std::size_t kMaxRawFrames = 64;
constexpr std::size_t kMaxReportBytes = 64 * 1024;
// How far after "panic:" or "fatal error:" the "goroutine N [...]:" line must come for the
// text to be taken as the Go runtime's.
constexpr std::size_t kGoTracebackLookahead = 20;

constexpr std::string_view kTsanDelimiter = "==================";
constexpr std::string_view kMarkerStart = "[faultline: ";
constexpr std::string_view kMarkerEnd = " bytes dropped here]";
constexpr std::string_view kTsanWarning = "WARNING: ThreadSanitizer: ";
constexpr std::string_view kUbsanError = ": runtime error: ";
constexpr std::string_view kUbsanSummary = "SUMMARY: UndefinedBehaviorSanitizer";

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

std::string_view trim(std::string_view s) {
  s = trim_left(s);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::uint64_t leading_number(std::string_view s) {
  std::uint64_t n = 0;
  for (char c : s) {
    if (!is_digit(c)) break;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

// "heap-use-after-free" -> "heap_use_after_free", "SEGV" -> "segv".
std::string to_snake(std::string_view s) {
  std::string out;
  for (char c : s) {
    if ((c >= 'a' && c <= 'z') || is_digit(c)) {
      out += c;
    } else if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c - 'A' + 'a');
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

Lines split_lines(std::string_view text) {
  Lines lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

bool has_marker(std::string_view line) {
  std::size_t at = line.find(kMarkerStart);
  return at != std::string_view::npos && line.find(kMarkerEnd, at) != std::string_view::npos;
}

// The line before a marker may have lost its end: it is kept in the text but not parsed.
bool may_be_partial(const Lines& lines, std::size_t i) {
  return has_marker(lines[i]) || (i + 1 < lines.size() && has_marker(lines[i + 1]));
}

// "... in free (/tmp/a.out+0x1234) (BuildId: 48ad...)": the id changes with every build.
std::string without_build_id(std::string_view s) {
  if (std::size_t b = s.find(" (BuildId: "); b != std::string_view::npos) {
    std::size_t close = s.find(')', b);
    std::string out(s.substr(0, b));
    if (close != std::string_view::npos) out += s.substr(close + 1);
    return out;
  }
  return std::string(s);
}

// The text of lines [begin, end) as it stands in the input, capped.
std::string raw_text(const Lines& lines, std::size_t begin, std::size_t end) {
  if (begin >= end) return {};
  const char* first = lines[begin].data();
  const char* last = lines[end - 1].data() + lines[end - 1].size();
  std::string_view all(first, static_cast<std::size_t>(last - first));
  if (all.size() <= kMaxReportBytes) return std::string(all);
  return std::string(all.substr(0, kMaxReportBytes)) + "\n[faultline: report cut at " +
         std::to_string(kMaxReportBytes) + " bytes]";
}

// ---- frames ------------------------------------------------------------------------------

// Leading frames matching these are the runtime's, the same in every report; dropping them
// makes frames[0] the program's function, which is what tells two reports apart.
bool is_runtime_frame(const Frame& f) {
  static constexpr std::string_view kFunctionPrefixes[] = {
      "__interceptor_",  "__asan",  "__tsan",   "__ubsan",   "__lsan",   "__sanitizer",
      "__gthread_",      "__libc_", "__GI_",    "__pthread", "pthread_", "operator new",
      "operator delete", "__cxa_",  "runtime.", "internal/", "sync.",    "__assert_"};
  static constexpr std::string_view kFunctions[] = {
      "malloc",        "calloc", "realloc", "free",    "memalign", "posix_memalign",
      "aligned_alloc", "valloc", "memcpy",  "memmove", "memset",   "memcmp",
      "strlen",        "strcpy", "strncpy", "raise",   "abort",    "_start"};
  static constexpr std::string_view kLocationParts[] = {
      "libsanitizer/", "compiler-rt/", "/usr/include/", "/include/c++/", "(libtsan.so",
      "(libasan.so",   "(libubsan.so", "(liblsan.so",   "(libc.so",      "(libstdc++.so",
      "(libgcc_s.so",  "/sysdeps/",    "csu/"};
  for (std::string_view p : kFunctionPrefixes) {
    if (f.function.starts_with(p)) return true;
  }
  for (std::string_view name : kFunctions) {
    if (f.function == name) return true;
  }
  for (std::string_view part : kLocationParts) {
    if (contains(f.location, part)) return true;
  }
  return false;
}

std::vector<Frame> top_frames(std::vector<Frame> raw) {
  auto first_own =
      std::find_if(raw.begin(), raw.end(), [](const Frame& f) { return !is_runtime_frame(f); });
  if (first_own == raw.end()) first_own = raw.begin();
  auto last = first_own +
              static_cast<std::ptrdiff_t>(std::min<std::size_t>(kMaxFrames, raw.end() - first_own));
  return std::vector<Frame>(first_own, last);
}

// Splits "function with spaces location" at its last space.
void split_last_token(std::string_view s, Frame& f) {
  std::size_t sp = s.rfind(' ');
  if (sp == std::string_view::npos) {
    f.function = std::string(s);
    return;
  }
  f.function = std::string(trim(s.substr(0, sp)));
  f.location = std::string(s.substr(sp + 1));
}

// A sanitizer frame line, in either form:
//   #0 0x55d4 in func(args) file.cpp:12:3      (ASan, UBSan, LSan; TSan's SEGV reports)
//   #0 func(args) file.cpp:12 (binary+0x1234)  (TSan)
// with an optional " (BuildId: ...)" at the end. Returns the frame number and the frame.
std::optional<std::pair<std::uint64_t, Frame>> parse_frame(std::string_view line) {
  std::string_view s = trim(line);
  if (s.size() < 3 || s[0] != '#' || !is_digit(s[1])) return std::nullopt;
  std::size_t k = 1;
  while (k < s.size() && is_digit(s[k])) ++k;
  if (k >= s.size() || s[k] != ' ') return std::nullopt;
  std::uint64_t index = leading_number(s.substr(1));
  std::string_view rest = trim(s.substr(k));
  if (std::size_t b = rest.rfind(" (BuildId: "); b != std::string_view::npos) {
    rest = trim(rest.substr(0, b));
  }
  Frame f;
  if (rest.starts_with("0x")) {
    std::size_t sp = rest.find(' ');
    rest = sp == std::string_view::npos ? std::string_view() : trim_left(rest.substr(sp));
    if (rest.starts_with("in ")) {
      split_last_token(rest.substr(3), f);
    } else {
      f.location = std::string(rest);
    }
  } else {
    std::string_view module;
    if (rest.ends_with(')')) {
      if (std::size_t p = rest.rfind(" ("); p != std::string_view::npos) {
        module = rest.substr(p + 1);
        rest = trim(rest.substr(0, p));
      }
    }
    split_last_token(rest, f);
    if (f.location.empty() || f.location == "<null>") f.location = std::string(module);
    if (f.function == "<null>") f.function.clear();
  }
  return std::make_pair(index, std::move(f));
}

// Collects the first stack of a report: frames #0, #1, ... up to the first blank line or the
// next #0. Lines that are not frames (another thread's output) are skipped, not fatal.
class StackCollector {
 public:
  void feed(std::string_view line, bool partial) {
    if (done_ || partial) return;
    auto frame = parse_frame(line);
    if (!frame) {
      if (started_ && trim(line).empty()) done_ = true;
      return;
    }
    if (frame->first == 0) {
      if (started_) {
        done_ = true;
        return;
      }
      started_ = true;
    }
    if (started_ && frames_.size() < kMaxRawFrames) frames_.push_back(std::move(frame->second));
  }
  bool empty() const { return frames_.empty(); }
  std::vector<Frame> take() { return top_frames(std::move(frames_)); }

 private:
  std::vector<Frame> frames_;
  bool started_ = false;
  bool done_ = false;
};

// ---- Go frames ---------------------------------------------------------------------------

// "main.(*T).m(0xc000010000, {0x4, 0x5})" -> "main.(*T).m": argument values change per run.
std::string_view strip_go_args(std::string_view call) {
  if (!call.ends_with(')')) return call;
  int depth = 0;
  for (std::size_t i = call.size(); i-- > 0;) {
    if (call[i] == ')') ++depth;
    if (call[i] == '(' && --depth == 0) return call.substr(0, i);
  }
  return call;
}

bool is_go_function_line(std::string_view line) {
  std::string_view t = trim(line);
  if (t.empty() || !t.ends_with(')') || t.front() == '#' || t.front() == '[') return false;
  std::size_t paren = t.find('(');
  return paren != std::string_view::npos && paren > 0 &&
         t.substr(0, paren).find(' ') == std::string_view::npos;
}

bool is_go_location_line(std::string_view line) {
  if (!(line.starts_with('\t') || line.starts_with("    "))) return false;
  std::string_view t = trim(line);
  return !t.empty() && t.front() != '#' && contains(t, ":");
}

// Go stacks are pairs of lines: "pkg.func(args)" then "\t/path/file.go:12 +0x1d" (panics) or
// "  pkg.func()" then "      /path/file.go:12 +0x1d" (race reports).
class GoStackCollector {
 public:
  // Returns true when lines[i] and lines[i + 1] were a frame, so the caller skips i + 1.
  bool feed(const Lines& lines, std::size_t i) {
    if (done_) return false;
    if (i + 1 < lines.size() && !may_be_partial(lines, i + 1) && is_go_function_line(lines[i]) &&
        is_go_location_line(lines[i + 1])) {
      std::string_view where = trim(lines[i + 1]);
      if (std::size_t pc = where.find(" +0x"); pc != std::string_view::npos) {
        where = where.substr(0, pc);
      }
      if (frames_.size() < kMaxRawFrames) {
        frames_.push_back({std::string(strip_go_args(trim(lines[i]))), std::string(where)});
      }
      return true;
    }
    if (!frames_.empty()) done_ = true;
    return false;
  }
  std::vector<Frame> take() { return top_frames(std::move(frames_)); }

 private:
  std::vector<Frame> frames_;
  bool done_ = false;
};

// ---- classification ----------------------------------------------------------------------

enum class Family { kNone, kTsan, kSanitizerError, kUbsan, kGlibc, kGoRace, kGoFatal };

// Reports spanning several lines, which end where another one starts.
bool is_block(Family f) {
  return f == Family::kTsan || f == Family::kSanitizerError || f == Family::kGoRace ||
         f == Family::kGoFatal;
}

struct SanitizerError {
  std::string_view pid_prefix;  // "==1234==", which starts the report's own later lines
  std::string_view tool;        // "AddressSanitizer"
  std::string_view body;        // "heap-use-after-free on address ..."
};

// "==1234==ERROR: AddressSanitizer: heap-use-after-free on address ..."
std::optional<SanitizerError> parse_sanitizer_error(std::string_view line) {
  if (!line.starts_with("==")) return std::nullopt;
  std::size_t k = 2;
  while (k < line.size() && is_digit(line[k])) ++k;
  if (k == 2 || !line.substr(k).starts_with("==ERROR: ")) return std::nullopt;
  std::string_view pid_prefix = line.substr(0, k + 2);
  std::string_view rest = line.substr(k + 9);
  std::size_t colon = rest.find("Sanitizer: ");
  if (colon == std::string_view::npos || colon > 40) return std::nullopt;
  return SanitizerError{pid_prefix, rest.substr(0, colon + 9), rest.substr(colon + 11)};
}

bool is_assertion_failure(std::string_view line) {
  std::string_view t = trim(line);
  return contains(t, ": Assertion `") && t.ends_with("' failed.");
}

std::string_view glibc_kind(std::string_view line) {
  static constexpr std::string_view kHeapMessages[] = {"malloc(): ",
                                                       "free(): ",
                                                       "realloc(): ",
                                                       "calloc(): ",
                                                       "_int_malloc(): ",
                                                       "_int_free(): ",
                                                       "munmap_chunk(): ",
                                                       "malloc_consolidate(): ",
                                                       "tcache_thread_shutdown(): ",
                                                       "double free or corruption",
                                                       "corrupted size vs. prev_size",
                                                       "corrupted double-linked list"};
  if (line.starts_with("*** stack smashing detected ***")) return "stack_smashing";
  if (line.starts_with("*** buffer overflow detected ***")) return "buffer_overflow";
  if (line.starts_with("terminate called after throwing an instance of ")) {
    return "uncaught_exception";
  }
  if (line.starts_with("terminate called ")) return "terminate";
  if (line.starts_with("pure virtual method called")) return "pure_virtual_call";
  if (line.starts_with("Fatal glibc error: ")) return "libc_fatal_error";
  for (std::string_view m : kHeapMessages) {
    if (!line.starts_with(m)) continue;
    if (contains(line, "double free")) return "double_free";
    if (contains(line, "invalid pointer")) return "invalid_free";
    return "heap_corruption";
  }
  if (is_assertion_failure(line)) return "assertion_failure";
  return {};
}

std::string_view go_fatal_kind(std::string_view headline) {
  struct Known {
    std::string_view message;
    std::string_view kind;
  };
  static constexpr Known kKnown[] = {
      {"fatal error: concurrent map writes", "concurrent_map_writes"},
      {"fatal error: concurrent map read and map write", "concurrent_map_read_and_write"},
      {"fatal error: concurrent map iteration and map write", "concurrent_map_iteration_and_write"},
      {"fatal error: all goroutines are asleep - deadlock!", "deadlock"},
      {"fatal error: stack overflow", "stack_overflow"},
      {"fatal error: out of memory", "out_of_memory"},
      {"fatal error: sync: unlock of unlocked mutex", "unlock_unlocked_mutex"},
      {"fatal error: sync: Unlock of unlocked RWMutex", "unlock_unlocked_mutex"},
      {"fatal error: sync: RUnlock of unlocked RWMutex", "unlock_unlocked_mutex"},
  };
  for (const auto& k : kKnown) {
    if (headline.starts_with(k.message)) return k.kind;
  }
  return headline.starts_with("panic: ") ? "panic" : "fatal_error";
}

bool go_traceback_follows(const Lines& lines, std::size_t i) {
  std::size_t end = std::min(lines.size(), i + 1 + kGoTracebackLookahead);
  for (std::size_t j = i + 1; j < end; ++j) {
    if (lines[j].starts_with("goroutine ") && contains(lines[j], " [")) return true;
  }
  return false;
}

Family classify(const Lines& lines, std::size_t i) {
  std::string_view line = lines[i];
  if (line.empty()) return Family::kNone;
  if (line.starts_with(kTsanWarning)) return Family::kTsan;
  if (line.starts_with("==") && parse_sanitizer_error(line)) return Family::kSanitizerError;
  if (trim(line) == "WARNING: DATA RACE") return Family::kGoRace;
  if (line.starts_with("fatal error: ") || line.starts_with("panic: ")) {
    if (go_fatal_kind(line) != "fatal_error" && go_fatal_kind(line) != "panic") {
      return Family::kGoFatal;
    }
    if (go_traceback_follows(lines, i)) return Family::kGoFatal;
  }
  if (contains(line, kUbsanError)) return Family::kUbsan;
  if (!glibc_kind(line).empty()) return Family::kGlibc;
  return Family::kNone;
}

// ---- parsers -----------------------------------------------------------------------------

struct Parsed {
  Symptom symptom;
  std::size_t line = 0;  // where the report starts: output order
};

struct ParseState {
  const Lines& lines;
  std::vector<Parsed>& out;
};

// A report ends at `end`; `cut` when the runner's marker interrupted it.
struct Extent {
  std::size_t end = 0;
  bool cut = false;
};

std::string ubsan_subkind(std::string_view message) {
  struct Rule {
    std::string_view prefix;
    std::string_view subkind;
  };
  static constexpr Rule kRules[] = {
      {"signed integer overflow", "signed-integer-overflow"},
      {"negation of", "signed-integer-overflow"},
      {"division of", "signed-integer-overflow"},
      {"unsigned integer overflow", "unsigned-integer-overflow"},
      {"division by zero", "integer-divide-by-zero"},
      {"shift exponent", "shift"},
      {"left shift of", "shift"},
      {"load of misaligned address", "alignment"},
      {"store to misaligned address", "alignment"},
      {"member access within misaligned", "alignment"},
      {"member call on misaligned", "alignment"},
      {"reference binding to misaligned", "alignment"},
      {"constructor call on misaligned", "alignment"},
      {"assumption of", "alignment"},
      {"load of null pointer", "null"},
      {"store to null pointer", "null"},
      {"member access within null pointer", "null"},
      {"member call on null pointer", "null"},
      {"reference binding to null pointer", "null"},
      {"applying zero offset to null pointer", "pointer-overflow"},
      {"applying non-zero offset", "pointer-overflow"},
      {"addition of unsigned offset", "pointer-overflow"},
      {"subtraction of unsigned offset", "pointer-overflow"},
      {"pointer index expression", "pointer-overflow"},
      {"execution reached an unreachable program point", "unreachable"},
      {"execution reached the end of a value-returning function", "return"},
      {"variable length array bound", "vla-bound"},
      {"null pointer passed as argument", "nonnull-attribute"},
      {"null pointer returned from function", "returns-nonnull-attribute"},
      {"call to function", "function"},
      {"passing zero to", "builtin"},
      {"implicit conversion from", "implicit-conversion"},
      {"downcast of", "vptr"},
      {"upcast of", "vptr"},
      {"member access within address", "vptr"},
      {"member call on address", "vptr"},
      {"control flow integrity", "cfi"},
  };
  if (message.starts_with("index ") && contains(message, "out of bounds")) return "bounds";
  if (contains(message, "with insufficient space")) return "object-size";
  if (contains(message, "is outside the range of representable values")) {
    return "float-cast-overflow";
  }
  if (message.starts_with("load of value")) {
    return contains(message, "for type 'bool'") ? "bool" : "enum";
  }
  for (const auto& r : kRules) {
    if (message.starts_with(r.prefix)) return std::string(r.subkind);
  }
  return "other";
}

// "path:12:5: runtime error: message", then its notes, memory dump, stack and SUMMARY when
// `with_details` (not inside another report, where indented lines are that report's).
std::size_t parse_ubsan(ParseState& st, std::size_t i, bool with_details) {
  const Lines& lines = st.lines;
  std::string_view line = lines[i];
  std::size_t at = line.find(kUbsanError);
  std::string_view prefix = line.substr(0, at);
  // Another stream's unterminated line may precede the location on the same line.
  if (std::size_t sp = prefix.find_last_of(" \t"); sp != std::string_view::npos) {
    prefix = prefix.substr(sp + 1);
  }
  std::string_view message = trim(line.substr(at + kUbsanError.size()));
  Symptom s;
  s.kind = "undefined_behavior";
  s.source = "ubsan";
  s.subkind = ubsan_subkind(message);
  s.summary = std::string(prefix) + std::string(kUbsanError) + std::string(message);
  StackCollector stack;
  std::size_t j = i + 1;
  for (; with_details && j < lines.size(); ++j) {
    std::string_view next = lines[j];
    if (has_marker(next)) break;
    if (next.starts_with(kUbsanSummary)) {
      ++j;
      break;
    }
    if (trim(next).empty()) {
      if (j + 1 < lines.size() && lines[j + 1].starts_with(kUbsanSummary)) continue;
      break;
    }
    if (next.starts_with(' ') || next.starts_with('\t') || contains(next, ": note: ")) {
      stack.feed(next, may_be_partial(lines, j));
      continue;
    }
    break;
  }
  s.frames = stack.take();
  if (s.frames.empty()) s.frames.push_back({"", std::string(prefix)});
  s.report = raw_text(lines, i, j);
  st.out.push_back({std::move(s), i});
  return j;
}

std::size_t parse_glibc(ParseState& st, std::size_t i, bool with_details) {
  const Lines& lines = st.lines;
  std::string_view line = trim(lines[i]);
  Symptom s;
  s.kind = std::string(glibc_kind(lines[i]));
  s.source = "glibc";
  s.summary = std::string(line);
  std::size_t j = i + 1;
  auto next_starts = [&](std::string_view p) {
    return with_details && j < lines.size() && trim_left(lines[j]).starts_with(p);
  };
  if (s.kind == "uncaught_exception") {
    // terminate called after throwing an instance of 'std::runtime_error'
    //   what():  journal is corrupt
    std::string_view type = line.substr(line.find('\'') + 1);
    if (!type.empty() && type.back() == '\'') type.remove_suffix(1);
    s.summary = "uncaught " + std::string(type);
    if (next_starts("what():")) {
      s.summary += ": " + std::string(trim(trim_left(lines[j]).substr(7)));
      ++j;
    }
  } else if (s.kind == "pure_virtual_call") {
    if (next_starts("terminate called")) ++j;
  } else if (s.kind == "assertion_failure") {
    // [prog: ]file:line: function: Assertion `expr' failed.
    std::string_view head = line.substr(0, line.find(": Assertion `"));
    std::size_t first = head.find(": ");
    std::string_view after = first == std::string_view::npos ? head : head.substr(first + 2);
    // Without a program name the first field is already "file:line".
    std::string_view first_field = head.substr(0, first);
    std::size_t colon = first_field.rfind(':');
    if (colon != std::string_view::npos && colon + 1 < first_field.size() &&
        is_digit(first_field[colon + 1])) {
      after = head;
    }
    std::size_t sep = after.find(": ");
    if (sep != std::string_view::npos) {
      s.frames.push_back({std::string(after.substr(sep + 2)), std::string(after.substr(0, sep))});
    }
  }
  s.report = raw_text(lines, i, j);
  st.out.push_back({std::move(s), i});
  return j;
}

// Inside a multi-line report, a UBSan error or glibc message is another thread's: it becomes
// its own symptom and the enclosing report goes on.
bool take_foreign_line(ParseState& st, std::size_t j, Family f) {
  if (f == Family::kUbsan) {
    parse_ubsan(st, j, false);
    return true;
  }
  if (f == Family::kGlibc) {
    parse_glibc(st, j, false);
    return true;
  }
  return false;
}

std::pair<std::string, std::string> tsan_kind(std::string_view headline) {
  struct Known {
    std::string_view phrase;
    std::string_view kind;
    std::string_view subkind;
  };
  // Longer phrases first: "data race on vptr" must not be read as "data race".
  static constexpr Known kKnown[] = {
      {"data race on vptr", "data_race", "vptr"},
      {"heap-use-after-free (virtual call vs free)", "heap_use_after_free", "virtual_call"},
      {"data race", "data_race", ""},
      {"race on external object", "data_race", "external"},
      {"heap-use-after-free", "heap_use_after_free", ""},
      {"thread leak", "thread_leak", ""},
      {"lock-order-inversion", "lock_order_inversion", ""},
      {"signal-unsafe call inside of a signal", "signal_unsafe_call", ""},
      {"signal handler spoils errno", "signal_handler_spoils_errno", ""},
      {"destroy of a locked mutex", "destroy_locked_mutex", ""},
      {"unlock of an unlocked mutex", "unlock_unlocked_mutex", ""},
      {"use of an invalid mutex", "invalid_mutex", ""},
      {"double lock of a mutex", "double_lock", ""},
      {"read lock of a write locked mutex", "read_lock_of_write_locked_mutex", ""},
      {"read unlock of a write locked mutex", "read_unlock_of_write_locked_mutex", ""},
      {"mutex held in wrong context", "mutex_held_in_wrong_context", ""},
  };
  for (const auto& k : kKnown) {
    if (headline.starts_with(k.phrase)) return {std::string(k.kind), std::string(k.subkind)};
  }
  return {to_snake(headline.substr(0, headline.find(" ("))), ""};
}

// ==================
// WARNING: ThreadSanitizer: data race (pid=1234)
//   ...stacks...
// SUMMARY: ThreadSanitizer: data race file.cpp:11 in bump_hits()
// ==================
Extent parse_tsan(ParseState& st, std::size_t i) {
  const Lines& lines = st.lines;
  std::size_t begin = i > 0 && trim(lines[i - 1]) == kTsanDelimiter ? i - 1 : i;
  std::string_view headline = trim(lines[i].substr(kTsanWarning.size()));
  if (std::size_t pid = headline.rfind(" (pid="); pid != std::string_view::npos) {
    headline = headline.substr(0, pid);
  }
  Symptom s;
  std::tie(s.kind, s.subkind) = tsan_kind(headline);
  s.source = "tsan";
  StackCollector stack;
  bool closed = false;
  Extent extent;
  std::size_t j = i + 1;
  for (; j < lines.size(); ++j) {
    std::string_view line = lines[j];
    if (has_marker(line)) {
      extent.cut = true;
      break;
    }
    if (trim(line) == kTsanDelimiter) {
      closed = true;
      ++j;
      break;
    }
    Family f = classify(lines, j);
    if (is_block(f)) break;
    if (take_foreign_line(st, j, f)) continue;
    if (line.starts_with("SUMMARY: ThreadSanitizer: ")) {
      s.summary = without_build_id(trim(line.substr(26)));
    } else if (std::string_view t = trim(line); t.starts_with("And ") && contains(t, " more ")) {
      s.count += leading_number(t.substr(4));  // "And 2 more similar thread leaks."
    }
    stack.feed(line, may_be_partial(lines, j));
  }
  if (s.summary.empty()) s.summary = std::string(headline);
  s.truncated = !closed && (extent.cut || s.summary == headline);
  s.frames = stack.take();
  s.report = raw_text(lines, begin, j);
  st.out.push_back({std::move(s), i});
  extent.end = j;
  return extent;
}

std::string_view source_of_tool(std::string_view tool) {
  if (tool == "AddressSanitizer") return "asan";
  if (tool == "LeakSanitizer") return "lsan";
  if (tool == "ThreadSanitizer") return "tsan";
  if (tool == "UndefinedBehaviorSanitizer") return "ubsan";
  if (tool == "MemorySanitizer") return "msan";
  if (tool == "HWAddressSanitizer") return "hwasan";
  return "sanitizer";
}

// The kind named by an ASan headline: the SUMMARY's first word says the same more reliably, and
// replaces it when the report has one.
std::string asan_kind(std::string_view body) {
  if (body.starts_with("attempting double-free")) return "double_free";
  if (body.starts_with("attempting free on address which was not malloc()-ed")) return "bad_free";
  std::string_view word = body.substr(0, body.find(' '));
  if (word.ends_with(':')) word.remove_suffix(1);
  return to_snake(word);
}

bool is_long_delimiter(std::string_view line) {
  std::string_view t = trim(line);
  return t.size() >= 20 && t.find_first_not_of('=') == std::string_view::npos;
}

// ==1234==ERROR: AddressSanitizer: <body>      (or LeakSanitizer, or a deadly signal of any)
//   ...stacks...
// SUMMARY: AddressSanitizer: <kind> ...
// Shadow bytes ... legend ...
// ==1234==ABORTING
// What a LeakSanitizer report says it leaked: from its SUMMARY, or counted from its "Direct leak
// of ..." lines when the report was cut before the SUMMARY.
struct LeakTally {
  std::uint64_t bytes = 0;
  std::uint64_t objects = 0;
  std::optional<std::uint64_t> summary_objects;  // the SUMMARY's count wins when it has one
};

// "Direct leak of 8 byte(s) in 1 object(s) allocated from:"
void count_leak_line(std::string_view line, LeakTally& tally) {
  if (!contains(line, "leak of ") || !contains(line, " object(s)")) return;
  std::string_view t = line.substr(line.find("leak of ") + 8);
  tally.bytes += leading_number(t);
  if (std::size_t in = t.find(" in "); in != std::string_view::npos) {
    tally.objects += leading_number(t.substr(in + 4));
  }
}

// "SUMMARY: AddressSanitizer: heap-use-after-free ..." gives the summary and (but for a leak)
// the kind; a leak's "216 byte(s) leaked in 4 allocation(s)." gives its count.
void take_summary(std::string_view line, bool leak, Symptom& s, LeakTally& tally) {
  std::string_view text = trim(line.substr(line.find("Sanitizer: ") + 11));
  s.summary = without_build_id(text);
  if (!leak) s.kind = to_snake(text.substr(0, text.find(' ')));
  if (leak) {
    if (std::size_t in = text.find(" leaked in "); in != std::string_view::npos) {
      tally.summary_objects = leading_number(text.substr(in + 11));
    }
  }
}

void finish_leak(Symptom& s, const LeakTally& tally) {
  const std::uint64_t objects = tally.summary_objects.value_or(tally.objects);
  s.count = std::max<std::uint64_t>(objects, 1);
  if (s.summary.empty()) {
    s.summary = std::to_string(tally.bytes) + " byte(s) leaked in " +
                std::to_string(tally.objects) + " allocation(s) before the report was cut";
  }
}

// After the SUMMARY, a line belongs to the report only while it is the shadow dump.
bool in_shadow_dump(std::string_view line, std::string_view pid_prefix) {
  return line.starts_with(' ') || line.starts_with("=>") || line.starts_with("Shadow byte") ||
         line.starts_with(pid_prefix);
}

Extent parse_sanitizer_error_report(ParseState& st, std::size_t i) {
  const Lines& lines = st.lines;
  SanitizerError e = *parse_sanitizer_error(lines[i]);
  std::size_t begin = i;
  if (begin > 0 && is_long_delimiter(lines[begin - 1])) --begin;
  if (begin > 0 && trim(lines[begin - 1]).ends_with("Sanitizer:DEADLYSIGNAL")) --begin;
  Symptom s;
  s.source = std::string(source_of_tool(e.tool));
  const bool leak = e.tool == "LeakSanitizer" || e.body.starts_with("detected memory leaks");
  if (leak) s.source = "lsan";
  s.kind = leak ? "memory_leak" : asan_kind(e.body);
  LeakTally tally;
  StackCollector stack;
  bool closed = false;
  bool after_summary = false;
  Extent extent;
  std::size_t j = i + 1;
  for (; j < lines.size(); ++j) {
    std::string_view line = lines[j];
    if (has_marker(line)) {
      extent.cut = true;
      break;
    }
    if (line.starts_with(e.pid_prefix) && contains(line, "ABORTING")) {
      closed = true;
      ++j;
      break;
    }
    Family f = classify(lines, j);
    if (is_block(f)) break;
    if (after_summary) {
      if (in_shadow_dump(line, e.pid_prefix)) continue;
      break;
    }
    if (take_foreign_line(st, j, f)) continue;
    if (line.starts_with("SUMMARY: ") && contains(line, "Sanitizer: ")) {
      take_summary(line, leak, s, tally);
      after_summary = true;
      closed = true;
      if (leak) {
        ++j;
        break;
      }
      continue;
    }
    if (leak) count_leak_line(line, tally);
    stack.feed(line, may_be_partial(lines, j));
  }
  if (leak) finish_leak(s, tally);
  if (s.summary.empty()) s.summary = std::string(trim(e.body));
  s.truncated = !closed;
  s.frames = stack.take();
  s.report = raw_text(lines, begin, j);
  st.out.push_back({std::move(s), i});
  extent.end = j;
  return extent;
}

// Go's race detector: like TSan's, between two "==================" lines, with Go stacks.
Extent parse_go_race(ParseState& st, std::size_t i) {
  const Lines& lines = st.lines;
  std::size_t begin = i > 0 && trim(lines[i - 1]) == kTsanDelimiter ? i - 1 : i;
  Symptom s;
  s.kind = "data_race";
  s.source = "go";
  GoStackCollector stack;
  bool closed = false;
  Extent extent;
  std::size_t j = i + 1;
  for (; j < lines.size(); ++j) {
    if (has_marker(lines[j])) {
      extent.cut = true;
      break;
    }
    if (trim(lines[j]) == kTsanDelimiter) {
      closed = true;
      ++j;
      break;
    }
    Family f = classify(lines, j);
    if (is_block(f)) break;
    if (take_foreign_line(st, j, f)) continue;
    if (stack.feed(lines, j)) ++j;
  }
  s.frames = stack.take();
  // Go prints no SUMMARY: this one reads like TSan's, with no address, so it is stable per race.
  s.summary = "data race";
  if (!s.frames.empty()) s.summary += " " + s.frames[0].location + " in " + s.frames[0].function;
  s.truncated = !closed;
  s.report = raw_text(lines, begin, j);
  st.out.push_back({std::move(s), i});
  extent.end = j;
  return extent;
}

// A line the Go runtime prints after "fatal error:" or "panic:" while it dumps goroutines.
bool is_go_traceback_line(const Lines& lines, std::size_t j) {
  std::string_view line = lines[j];
  static constexpr std::string_view kPrefixes[] = {
      "\t",       "goroutine ",     "created by ", "[",       "exit status ",
      "runtime:", "runtime stack:", "...",         "panic: ", "fatal error: "};
  if (trim(line).empty()) return true;
  for (std::string_view p : kPrefixes) {
    if (line.starts_with(p)) return true;
  }
  return is_go_function_line(line) && j + 1 < lines.size() && is_go_location_line(lines[j + 1]);
}

// fatal error: concurrent map writes        (or "panic: ...")
//
// goroutine 5 [running]:
// main.storeSession(...)
//         ./file.go:8 +0x2b
Extent parse_go_fatal(ParseState& st, std::size_t i) {
  const Lines& lines = st.lines;
  std::string_view headline = trim(lines[i]);
  Symptom s;
  s.kind = std::string(go_fatal_kind(headline));
  s.source = "go";
  s.summary = std::string(headline);
  GoStackCollector stack;
  bool in_goroutine = false;
  Extent extent;
  std::size_t j = i + 1;
  for (; j < lines.size(); ++j) {
    std::string_view line = lines[j];
    if (has_marker(line)) {
      extent.cut = true;
      break;
    }
    // Two goroutines may both detect a map race and print the same headline.
    if (trim(line) == headline) continue;
    Family f = classify(lines, j);
    if (is_block(f) || !is_go_traceback_line(lines, j)) break;
    if (line.starts_with("goroutine ")) in_goroutine = true;
    if (in_goroutine && stack.feed(lines, j)) ++j;
  }
  s.frames = stack.take();
  s.truncated = extent.cut;
  s.report = raw_text(lines, i, std::min(j, lines.size()));
  st.out.push_back({std::move(s), i});
  extent.end = std::min(j, lines.size());
  return extent;
}

// After a marker, the tail of a report whose head was dropped may still hold its SUMMARY.
std::optional<Symptom> orphan_summary(std::string_view line) {
  if (!line.starts_with("SUMMARY: ")) return std::nullopt;
  std::size_t at = line.find("Sanitizer: ");
  if (at == std::string_view::npos || at > 40) return std::nullopt;
  std::string_view tool = line.substr(9, at);
  std::string_view text = trim(line.substr(at + 11));
  Symptom s;
  s.source = std::string(source_of_tool(tool));
  if (contains(text, " leaked in ")) {
    s.source = "lsan";
    s.kind = "memory_leak";
    s.count =
        std::max<std::uint64_t>(leading_number(text.substr(text.find(" leaked in ") + 11)), 1);
  } else if (tool == "ThreadSanitizer") {
    std::tie(s.kind, s.subkind) = tsan_kind(text);
  } else if (tool == "UndefinedBehaviorSanitizer") {
    return std::nullopt;  // its runtime error line, which says more, is gone
  } else {
    s.kind = to_snake(text.substr(0, text.find(' ')));
  }
  s.summary = without_build_id(text);
  s.report = std::string(line);
  s.truncated = true;
  return s;
}

// UBSan errors of one check are one symptom: in a run that keeps going they can number
// thousands, each at its own location.
std::vector<Symptom> merge_ubsan(std::vector<Parsed> parsed) {
  std::stable_sort(parsed.begin(), parsed.end(),
                   [](const Parsed& a, const Parsed& b) { return a.line < b.line; });
  std::vector<Symptom> out;
  for (auto& p : parsed) {
    if (p.symptom.source == "ubsan" && p.symptom.kind == "undefined_behavior") {
      auto same = std::find_if(out.begin(), out.end(), [&](const Symptom& s) {
        return s.source == "ubsan" && s.kind == p.symptom.kind && s.subkind == p.symptom.subkind;
      });
      if (same != out.end()) {
        same->count += p.symptom.count;
        continue;
      }
    }
    out.push_back(std::move(p.symptom));
  }
  return out;
}

// The report that starts at line i, by its family: where it ends, and whether a marker cut it.
Extent parse_family(Family f, ParseState& st, std::size_t i) {
  Extent extent{i + 1, false};
  switch (f) {
    case Family::kTsan:
      return parse_tsan(st, i);
    case Family::kSanitizerError:
      return parse_sanitizer_error_report(st, i);
    case Family::kGoRace:
      return parse_go_race(st, i);
    case Family::kGoFatal:
      return parse_go_fatal(st, i);
    case Family::kUbsan:
      extent.end = parse_ubsan(st, i, true);
      return extent;
    case Family::kGlibc:
      extent.end = parse_glibc(st, i, true);
      return extent;
    case Family::kNone:
      return extent;
  }
  return extent;
}

}  // namespace

std::vector<Symptom> parse_reports(std::string_view text) {
  const Lines lines = split_lines(text);
  std::vector<Parsed> parsed;
  ParseState st{lines, parsed};
  // After a marker, until the next headline: the tail of whatever report the cut went through.
  bool after_marker = false;
  std::optional<std::pair<std::string, std::string>> cut_report;  // source, kind
  std::size_t i = 0;
  while (i < lines.size()) {
    std::string_view line = lines[i];
    if (has_marker(line)) {
      after_marker = true;
      ++i;
      continue;
    }
    const Family f = classify(lines, i);
    const Extent extent = parse_family(f, st, i);
    if (f == Family::kNone && after_marker) {
      if (auto orphan = orphan_summary(line)) {
        // The same kind as the report the cut went through is most likely its own end.
        bool same =
            cut_report && cut_report->first == orphan->source && cut_report->second == orphan->kind;
        if (!same) parsed.push_back({std::move(*orphan), i});
        after_marker = false;
      }
    }
    if (f != Family::kNone) {
      after_marker = false;
      cut_report.reset();
      if (extent.cut) {
        // Foreign lines taken from inside the report come after it in `parsed`: find it by line.
        auto report = std::find_if(parsed.rbegin(), parsed.rend(),
                                   [&](const Parsed& p) { return p.line == i; });
        if (report != parsed.rend()) {
          cut_report = std::make_pair(report->symptom.source, report->symptom.kind);
        }
      }
    }
    i = std::max(extent.end, i + 1);
  }
  // A headline whose kind is all punctuation or bytes that are not text (a report mangled in
  // the output) still stands for a report: it gets a kind that says so, never "".
  for (auto& p : parsed) {
    if (p.symptom.kind.empty()) p.symptom.kind = "unrecognised_" + p.symptom.source + "_report";
  }
  return merge_ubsan(std::move(parsed));
}

}  // namespace faultline
