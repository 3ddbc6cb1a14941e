#include "harness/fault/child_faults.h"

#include <elf.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "harness/fault/syscall_rules.h"
#include "harness/probe/shown.h"

namespace faultline::fault {
namespace fs = std::filesystem;
namespace {

struct ErrnoName {
  std::string_view name;
  int value;
};
// The errnos a syscall fault may inject, by name.
const std::array<ErrnoName, 27> kErrnos = {{
    {"EACCES", EACCES},
    {"EADDRINUSE", EADDRINUSE},
    {"EADDRNOTAVAIL", EADDRNOTAVAIL},
    {"EAGAIN", EAGAIN},
    {"EBADF", EBADF},
    {"ECONNABORTED", ECONNABORTED},
    {"ECONNREFUSED", ECONNREFUSED},
    {"ECONNRESET", ECONNRESET},
    {"EDQUOT", EDQUOT},
    {"EHOSTUNREACH", EHOSTUNREACH},
    {"EINPROGRESS", EINPROGRESS},
    {"EINTR", EINTR},
    {"EINVAL", EINVAL},
    {"EIO", EIO},
    {"EMFILE", EMFILE},
    {"ENETUNREACH", ENETUNREACH},
    {"ENFILE", ENFILE},
    {"ENOBUFS", ENOBUFS},
    {"ENOMEM", ENOMEM},
    {"ENOSPC", ENOSPC},
    {"ENOTCONN", ENOTCONN},
    {"EPERM", EPERM},
    {"EPIPE", EPIPE},
    {"EROFS", EROFS},
    {"ETIMEDOUT", ETIMEDOUT},
    {"EWOULDBLOCK", EWOULDBLOCK},
    {"ENOENT", ENOENT},
}};

std::optional<int> errno_named(std::string_view name) {
  for (const auto& e : kErrnos) {
    if (e.name == name) return e.value;
  }
  return std::nullopt;
}

std::string errno_names() {
  std::vector<std::string_view> names;
  for (const auto& e : kErrnos) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  return fmt::format("{}", fmt::join(names, ", "));
}

std::optional<std::uint64_t> whole(std::string_view s) {
  if (s.empty() || s.size() > 18 || !std::all_of(s.begin(), s.end(), ::isdigit)) {
    return std::nullopt;
  }
  return std::stoull(std::string(s));
}

struct When {
  std::uint64_t first = 1, last = 0, step = 1;  // last 0: no end
};

// strace's form: first[..[last]][+step], calls counted from 1.
std::optional<When> parse_when(std::string_view text) {
  When w;
  std::string_view rest = text;
  if (const auto plus = rest.find('+'); plus != std::string_view::npos) {
    auto step = whole(rest.substr(plus + 1));
    if (!step || *step == 0) return std::nullopt;
    w.step = *step;
    rest = rest.substr(0, plus);
  }
  const auto dots = rest.find("..");
  auto first = whole(rest.substr(0, dots));
  if (!first || *first == 0) return std::nullopt;
  w.first = *first;
  if (dots == std::string_view::npos) {
    if (text.find('+') == std::string_view::npos) w.last = w.first;  // when=N: call N alone
  } else if (dots + 2 < rest.size()) {
    auto last = whole(rest.substr(dots + 2));
    if (!last || *last < w.first) return std::nullopt;
    w.last = *last;
  }
  return w;
}

// A syscall spec's values, as its keys give them.
struct SyscallFault {
  std::string call;
  int error = 0;  // 0: delay only
  double p = 1;
  std::uint64_t delay_us = 0;
  When when;
  std::uint64_t from_us = 0, until_us = 0;  // a window from the process start (until 0: no end)
};

// from-ms or until-ms of a syscall spec into `f`; the problem, or nothing.
std::optional<std::string> window_key(const std::string& key, const std::string& value,
                                      SyscallFault& f) {
  const auto v = spec_number(value);
  if (!v || *v < 0 || *v > 86'400'000) {
    return fmt::format(
        "fault 'syscall': {}={} must be a number from 0 to 86400000 (ms after the process "
        "started; calls are chosen from from-ms to until-ms)",
        key, shown(value));
  }
  (key == "from-ms" ? f.from_us : f.until_us) = static_cast<std::uint64_t>(std::llround(*v * 1000));
  return std::nullopt;
}

// One key of a syscall spec into `f`; the problem, or nothing.
std::optional<std::string> syscall_key(const std::string& key, const std::string& value,
                                       SyscallFault& f) {
  if (key == "call") {
    const auto& names = syscall_names();
    if (std::find(names.begin(), names.end(), value) == names.end()) {
      return fmt::format("fault 'syscall': call={} is not one it can fail: use one of {}",
                         shown(value), fmt::join(names, ", "));
    }
    f.call = value;
  } else if (key == "errno") {
    const auto e = errno_named(value);
    if (!e) {
      return fmt::format("fault 'syscall': errno={} is not an errno it knows: use one of {}",
                         shown(value), errno_names());
    }
    f.error = *e;
  } else if (key == "delay-us") {
    const auto v = spec_number(value);
    if (!v || *v < 0 || *v > 10'000'000 || std::floor(*v) != *v) {
      return fmt::format(
          "fault 'syscall': delay-us={} must be a whole number from 0 to 10000000 "
          "(microseconds before the call)",
          shown(value));
    }
    f.delay_us = static_cast<std::uint64_t>(*v);
  } else if (key == "p") {
    const auto v = spec_number(value);
    if (!v || *v <= 0 || *v > 1) {
      return fmt::format(
          "fault 'syscall': p={} must be a number above 0 and at most 1 (the chance that a call "
          "is chosen)",
          shown(value));
    }
    f.p = *v;
  } else if (key == "when") {
    const auto w = parse_when(value);
    if (!w) {
      return fmt::format(
          "fault 'syscall': when={} is not a range of calls: write N, N.., N..M or N..M+STEP "
          "(calls counted from 1, as strace's inject does)",
          shown(value));
    }
    f.when = *w;
  } else if (key == "from-ms" || key == "until-ms") {
    return window_key(key, value, f);
  } else {
    return fmt::format(
        "fault 'syscall' has no key '{}': its keys are call, errno, delay-us, p, when, from-ms, "
        "until-ms",
        shown(key));
  }
  return std::nullopt;
}

// A syscall spec, checked; `digest` gets the shim's form
// "call,errno,p,delay_us,first,last,step,from_us,until_us".
std::optional<std::string> check_syscall(const FaultSpec& spec, std::string* digest) {
  SyscallFault f;
  for (const auto& [key, value] : spec.params) {
    if (auto problem = syscall_key(key, value, f)) return problem;
  }
  if (f.call.empty()) {
    return "fault 'syscall' needs call=NAME, e.g. syscall:call=accept,errno=EMFILE,p=0.01";
  }
  if (f.error == 0 && f.delay_us == 0) {
    return fmt::format(
        "fault 'syscall' on {} needs errno=NAME, delay-us=N or both, e.g. "
        "syscall:call={},errno=EIO,when=10..20",
        f.call, f.call);
  }
  if (f.error == 0 && f.call == "malloc") {
    return "fault 'syscall' on malloc takes errno=ENOMEM (a delay alone is not a malloc fault)";
  }
  if (f.until_us != 0 && f.until_us <= f.from_us) {
    return fmt::format("fault 'syscall': until-ms={} must be after from-ms={} (its window)",
                       f.until_us / 1000.0, f.from_us / 1000.0);
  }
  if (digest) {
    *digest = fmt::format("{},{},{},{},{},{},{},{},{}", f.call, f.error, f.p, f.delay_us,
                          f.when.first, f.when.last, f.when.step, f.from_us, f.until_us);
  }
  return std::nullopt;
}

struct Clock {
  std::string faketime;           // FAKETIME
  std::uint64_t start_after = 0;  // FAKETIME_START_AFTER_SECONDS (0: from the start)
  bool monotonic = false;         // fake CLOCK_MONOTONIC too
};

// A clock spec's values, as its keys give them.
struct ClockKeys {
  std::optional<double> offset, jump, rate;
  std::optional<std::uint64_t> at;
  bool monotonic = false;
};

// One key of a clock spec into `c`; the problem, or nothing.
std::optional<std::string> clock_key(const std::string& key, const std::string& value,
                                     ClockKeys& c) {
  const auto v = spec_number(value);
  if (key == "offset-s" || key == "jump-s") {
    if (!v || std::fabs(*v) > 10 * 365.25 * 86400) {
      return fmt::format("fault 'clock': {}={} must be seconds, within ten years either way", key,
                         shown(value));
    }
    (key == "offset-s" ? c.offset : c.jump) = *v;
  } else if (key == "rate") {
    if (!v || *v <= 0 || *v > 1000) {
      return fmt::format(
          "fault 'clock': rate={} must be a number above 0 and at most 1000 (2: the clock runs "
          "twice as fast; 0.5: half as fast)",
          shown(value));
    }
    c.rate = *v;
  } else if (key == "at") {
    const auto w = whole(value);
    if (!w || *w == 0 || *w > 86400) {
      return fmt::format(
          "fault 'clock': at={} must be whole seconds from 1 to 86400 after the process started "
          "(libfaketime counts whole seconds)",
          shown(value));
    }
    c.at = *w;
  } else if (key == "clocks") {
    if (value != "wall" && value != "all") {
      return fmt::format(
          "fault 'clock': clocks={} must be wall (the realtime clock only) or all (monotonic "
          "too: steady_clock, timeouts)",
          shown(value));
    }
    c.monotonic = value == "all";
  } else {
    return fmt::format(
        "fault 'clock' has no key '{}': its keys are offset-s, jump-s, at, rate, clocks",
        shown(key));
  }
  return std::nullopt;
}

std::optional<std::string> check_clock(const FaultSpec& spec, Clock* out) {
  ClockKeys c;
  for (const auto& [key, value] : spec.params) {
    if (auto problem = clock_key(key, value, c)) return problem;
  }
  if (c.jump && c.offset) {
    return "fault 'clock': give offset-s (from the start) or jump-s with at, not both";
  }
  if (c.jump.has_value() != c.at.has_value()) {
    return "fault 'clock': jump-s and at go together: clock:jump-s=5,at=1 moves the clock 5 s "
           "ahead 1 s after the process started";
  }
  if (!c.offset && !c.jump && !c.rate) {
    return "fault 'clock' needs offset-s=S, jump-s=S with at=T, or rate=R, e.g. "
           "clock:offset-s=30";
  }
  if (out) {
    const double shift = c.offset.value_or(c.jump.value_or(0));
    out->faketime = fmt::format("{}{}", shift < 0 ? "-" : "+", std::fabs(shift));
    if (c.rate) out->faketime += fmt::format(" x{}", *c.rate);
    out->start_after = c.at.value_or(0);
    out->monotonic = c.monotonic;
  }
  return std::nullopt;
}

// The folder of the running driver.
fs::path driver_dir() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : self.parent_path();
}

// libfaultline_syscall[_malloc].so: next to the driver in a build tree, in <prefix>/lib/faultline
// when installed.
std::string shim_path(bool with_malloc) {
  const std::string name =
      with_malloc ? "libfaultline_syscall_malloc.so" : "libfaultline_syscall.so";
  const fs::path dir = driver_dir();
  for (const fs::path& candidate : {dir / name, dir.parent_path() / "lib" / "faultline" / name}) {
    if (::access(candidate.c_str(), R_OK) == 0) return candidate.string();
  }
  throw std::runtime_error(fmt::format(
      "syscall faults need {} next to faultline or in <prefix>/lib/faultline: build or install "
      "the release preset",
      name));
}

std::string libfaketime_path() {
  if (const char* own = std::getenv("FAULTLINE_LIBFAKETIME"); own && *own) return own;
  for (const char* candidate : {"/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                                "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
                                "/usr/lib/faketime/libfaketime.so.1"}) {
    if (::access(candidate, R_OK) == 0) return candidate;
  }
  throw std::runtime_error(
      "clock faults need libfaketime: apt-get install libfaketime (or set FAULTLINE_LIBFAKETIME "
      "to its libfaketime.so.1)");
}

}  // namespace

const std::vector<std::string_view>& syscall_names() {
  static const std::vector<std::string_view> kNames = {
      "accept", "accept4",  "connect", "read",  "write",      "send",           "recv",
      "sendto", "recvfrom", "close",   "fsync", "epoll_wait", "pthread_create", "malloc"};
  return kNames;
}

bool is_child_fault(std::string_view text) {
  try {
    const FaultSpec spec = parse_fault_spec(text);
    return spec.kind == "syscall" || spec.kind == "clock";
  } catch (const std::invalid_argument&) {
    return false;
  }
}

std::optional<std::string> validate_child_fault(const FaultSpec& spec) {
  if (spec.kind == "syscall") return check_syscall(spec, nullptr);
  if (spec.kind == "clock") return check_clock(spec, nullptr);
  return fmt::format("fault '{}' is not a syscall or clock fault", spec.kind);
}

std::optional<std::string> check_child_faults(const std::vector<std::string>& texts,
                                              bool sanitized) {
  std::vector<std::string> calls;
  int clocks = 0;
  for (const auto& text : texts) {
    if (!is_child_fault(text)) continue;
    const FaultSpec spec = parse_fault_spec(text);
    if (auto problem = validate_child_fault(spec)) return problem;
    if (spec.kind == "clock") {
      if (++clocks > 1) return "--fault: one clock fault per run (give offset-s and rate in one)";
      continue;
    }
    const std::string call = *spec.get("call");
    if (std::find(calls.begin(), calls.end(), call) != calls.end()) {
      return fmt::format("--fault: two syscall faults on {}: one spec per call", call);
    }
    if (call == "malloc" && sanitized) {
      return "--fault syscall:call=malloc works only without a sanitizer: the sanitizer's "
             "allocator is the process's malloc (use --sanitizer none)";
    }
    calls.push_back(call);
  }
  if (calls.size() > 16) return "--fault: at most 16 syscall faults in one run";
  return std::nullopt;
}

ChildFaultSetup child_fault_setup(const std::vector<std::string>& texts,
                                  const std::string& counts_path,
                                  const std::string& inherited_preload, bool by_seccomp) {
  ChildFaultSetup setup;
  std::vector<std::string> digests, preload;
  std::optional<Clock> clock;
  for (const auto& text : texts) {
    if (!is_child_fault(text)) continue;
    const FaultSpec spec = parse_fault_spec(text);
    if (spec.kind == "clock") {
      clock.emplace();
      if (auto problem = check_clock(spec, &*clock)) throw std::runtime_error(*problem);
      continue;
    }
    std::string digest;
    if (auto problem = check_syscall(spec, &digest)) throw std::runtime_error(*problem);
    digests.push_back(digest);
    setup.syscall_calls.push_back(*spec.get("call"));
  }
  if (by_seccomp) {  // the launcher reads the shim's variables; nothing is preloaded
    if (clock) {
      throw std::runtime_error(*static_program_problem(texts, "the program needs the launcher"));
    }
    if (!digests.empty()) {
      setup.env.emplace_back("FAULTLINE_SYSCALL_FAULTS",
                             fmt::format("{}", fmt::join(digests, ";")));
      setup.env.emplace_back("FAULTLINE_SYSCALL_COUNTS", counts_path);
      setup.note =
          "syscall faults by seccomp user notification: the program is statically linked or a Go "
          "program, so faultline-seccomp-launch ran it and answered its chosen system calls "
          "(docs/faults.md, "
          "\"Static programs (Go): the seccomp launcher\")";
    }
    return setup;
  }
  if (!digests.empty()) {
    const bool malloc = std::find(setup.syscall_calls.begin(), setup.syscall_calls.end(),
                                  "malloc") != setup.syscall_calls.end();
    preload.push_back(shim_path(malloc));
    setup.env.emplace_back("FAULTLINE_SYSCALL_FAULTS", fmt::format("{}", fmt::join(digests, ";")));
    setup.env.emplace_back("FAULTLINE_SYSCALL_COUNTS", counts_path);
  }
  if (clock) {
    preload.push_back(libfaketime_path());
    setup.env.emplace_back("FAKETIME", clock->faketime);
    if (clock->start_after) {
      setup.env.emplace_back("FAKETIME_START_AFTER_SECONDS", std::to_string(clock->start_after));
    }
    if (!clock->monotonic) setup.env.emplace_back("FAKETIME_DONT_FAKE_MONOTONIC", "1");
  }
  if (!preload.empty()) {
    if (!inherited_preload.empty()) preload.push_back(inherited_preload);
    setup.env.insert(setup.env.begin(), {"LD_PRELOAD", fmt::format("{}", fmt::join(preload, ":"))});
  }
  return setup;
}

std::string seccomp_launcher_path() {
  constexpr const char* kName = "faultline-seccomp-launch";
  const fs::path dir = driver_dir();
  for (const fs::path& candidate : {dir / kName, dir.parent_path() / "lib" / "faultline" / kName}) {
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  throw std::runtime_error(
      "syscall faults on a statically linked or Go program need faultline-seccomp-launch next to "
      "faultline or in <prefix>/lib/faultline (x86_64 only): build or install the release preset");
}

namespace {
// The system calls the launcher filters for `call`; 0: none (a library call); -1: no launcher
// on this architecture.
int launcher_system_calls(int call, long out[3]) {
#if defined(__x86_64__)
  return rules::system_calls(call, out);
#else
  (void)call, (void)out;
  return -1;
#endif
}
}  // namespace

bool is_seccomp_launcher(std::string_view program) {
  return fs::path(program).filename() == "faultline-seccomp-launch";
}

std::optional<std::string> static_program_problem(const std::vector<std::string>& texts,
                                                  std::string_view what) {
  std::vector<std::pair<long, std::string>> taken;  // system call -> the call that has it
  for (const auto& text : texts) {
    if (!is_child_fault(text)) continue;
    const FaultSpec spec = parse_fault_spec(text);
    if (spec.kind == "clock") {
      return fmt::format(
          "exec: {}: clock faults work through libfaketime, which the dynamic loader preloads "
          "into libc's clock calls, and such a program reads the clock without them; give clock "
          "faults to a C, C++, Python or shell program (syscall faults do reach this one)",
          what);
    }
    const std::string call = *spec.get("call");
    const int c = rules::call_named(call.data(), call.size());
    long nrs[3];
    const int n = launcher_system_calls(c, nrs);
    if (n < 0) {
      return fmt::format(
          "exec: {}: syscall faults reach such a program through the seccomp launcher, which is "
          "built for x86_64 only; use a dynamically linked C or C++ build",
          what);
    }
    if (n == 0) {
      return fmt::format(
          "exec: {}, and call={} is a library call, not a system call: only the LD_PRELOAD shim "
          "fails it, in a dynamically linked C or C++ program; fault a system call instead "
          "(read, write, connect, accept4, ...)",
          what, call);
    }
    if (c == rules::kClose && spec.get("errno")) {
      return fmt::format(
          "exec: {}, and call=close with errno cannot act as it does through the shim (which "
          "closes, then reports the error; a seccomp answer either makes the call or fails it "
          "without closing): give close a delay-us alone",
          what);
    }
    for (int k = 0; k < n; ++k) {
      for (const auto& [nr, other] : taken) {
        if (nr == nrs[k]) {
          return fmt::format(
              "exec: {}, where call={} and call={} are the same system call: give one spec "
              "for both",
              what, other, call);
        }
      }
      taken.emplace_back(nrs[k], call);
    }
  }
  return std::nullopt;
}

std::vector<SyscallCount> read_syscall_counts(const std::string& counts_path,
                                              const std::vector<std::string>& calls) {
  std::vector<SyscallCount> out;
  std::ifstream in(counts_path, std::ios::binary);
  for (const auto& call : calls) {
    std::uint64_t slot[2] = {0, 0};
    if (in) in.read(reinterpret_cast<char*>(slot), sizeof slot);
    out.push_back({call, in ? slot[0] : 0, in ? slot[1] : 0});
  }
  return out;
}

std::optional<bool> is_dynamically_linked(const std::string& program) {
  std::ifstream in(program, std::ios::binary);
  if (!in) return std::nullopt;
  char head[2] = {};
  in.read(head, 2);
  if (in && head[0] == '#' && head[1] == '!') return true;
  in.seekg(0);
  Elf64_Ehdr eh{};
  if (!in.read(reinterpret_cast<char*>(&eh), sizeof eh) ||
      std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64) {
    return std::nullopt;
  }
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    in.seekg(static_cast<std::streamoff>(eh.e_phoff + i * eh.e_phentsize));
    if (!in.read(reinterpret_cast<char*>(&ph), sizeof ph)) return std::nullopt;
    if (ph.p_type == PT_INTERP) return true;
  }
  return false;
}

bool is_go_program(const std::string& program) {
  std::ifstream in(program, std::ios::binary);
  Elf64_Ehdr eh{};
  if (!in.read(reinterpret_cast<char*>(&eh), sizeof eh) ||
      std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_shstrndx == SHN_UNDEF || eh.e_shnum > 4096) {
    return false;
  }
  auto section = [&](int i) {
    Elf64_Shdr sh{};
    in.seekg(static_cast<std::streamoff>(eh.e_shoff + i * eh.e_shentsize));
    in.read(reinterpret_cast<char*>(&sh), sizeof sh);
    return sh;
  };
  const Elf64_Shdr names = section(eh.e_shstrndx);
  if (!in || names.sh_size > (1u << 20)) return false;
  std::string table(names.sh_size, '\0');
  in.seekg(static_cast<std::streamoff>(names.sh_offset));
  if (!in.read(table.data(), static_cast<std::streamsize>(table.size()))) return false;
  for (int i = 0; i < eh.e_shnum; ++i) {
    const Elf64_Shdr sh = section(i);
    if (!in || sh.sh_name >= table.size()) return false;
    const std::string_view name(table.c_str() + sh.sh_name);
    if (name == ".go.buildinfo" || name == ".note.go.buildid") return true;
  }
  return false;
}

std::optional<std::string> seccomp_reason(const std::string& path, std::string_view shown) {
  if (is_dynamically_linked(path) == false) {
    return fmt::format("{} is statically linked", shown);
  }
  if (is_go_program(path)) {
    return fmt::format("{} is a Go program (it makes its own system calls, not through libc)",
                       shown);
  }
  return std::nullopt;
}

}  // namespace faultline::fault
