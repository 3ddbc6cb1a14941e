// Faults the driver applies to the child process itself, for any dynamically linked program (a
// scenario or a command run by exec), through the dynamic loader rather than the scenario:
//
//   syscall:call=accept,errno=EMFILE,p=0.01        libfaultline_syscall.so, preloaded: errno or
//   syscall:call=write,delay-us=500,when=100..200  delay on chosen libc calls (syscall_shim.cpp)
//   clock:offset-s=30 | clock:jump-s=5,at=1 | clock:rate=2    libfaketime (Debian's), preloaded
//
// They share --fault's syntax and the record's `faults` list (so the experiment key and replay
// carry them) with the network faults of faults.h, which go to the scenario instead.
// docs/faults.md, "Syscall faults" and "Clock faults".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "harness/scenario/fault_spec.h"

namespace faultline::fault {

// The calls libfaultline_syscall.so can fail or delay, in its order.
const std::vector<std::string_view>& syscall_names();

// Whether a --fault text is a fault of the child process (kind syscall or clock). A text that
// does not parse is not.
bool is_child_fault(std::string_view text);

// Checks one syscall or clock spec: kind, keys, values and ranges, naming the problem and what
// is allowed; nothing when it is good.
std::optional<std::string> validate_child_fault(const FaultSpec& spec);

// Checks a run's --fault texts together, those that are child faults: each valid, one syscall
// spec per call, at most 16 of them, at most one clock fault, and (`sanitized`: the child is a
// sanitizer build) no malloc fault, since the sanitizer's allocator is the process's malloc.
std::optional<std::string> check_child_faults(const std::vector<std::string>& texts,
                                              bool sanitized);

// How a run's child faults are applied: the environment to add (LD_PRELOAD first, then what the
// preloaded libraries read), and the calls of the syscall specs in the order of their slots in
// the counts file (empty: no syscall fault). `counts_path` is the file the shim counts in
// (docs/faults.md); `inherited_preload` an LD_PRELOAD the child would have had, kept after ours.
// `by_seccomp`: the command runs under faultline-seccomp-launch (a static or Go program),
// which reads the same variables and preloads nothing; `note` then says so for the record.
struct ChildFaultSetup {
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<std::string> syscall_calls;
  std::string note;
};
// Throws std::runtime_error naming what is missing (the shim next to the driver, or libfaketime
// with the package that gives it). Texts must have passed check_child_faults (and, by_seccomp,
// static_program_problem).
ChildFaultSetup child_fault_setup(const std::vector<std::string>& texts,
                                  const std::string& counts_path,
                                  const std::string& inherited_preload, bool by_seccomp = false);

// The seccomp launcher (seccomp_launch.cpp): faultline-seccomp-launch next to the driver, or in
// <prefix>/lib/faultline. Throws std::runtime_error naming what to build when it is missing.
std::string seccomp_launcher_path();
// Whether `program` (a path or a name) is the seccomp launcher, by its file name.
bool is_seccomp_launcher(std::string_view program);
// Why a run's child faults cannot act through the launcher on a program that needs it (`what`
// says which and why, as seccomp_reason does): a clock fault, a library call (pthread_create,
// malloc), close with an errno, or two specs on one system call (send and sendto); one line
// naming the problem and the fix, or nothing.
std::optional<std::string> static_program_problem(const std::vector<std::string>& texts,
                                                  std::string_view what);

// Bytes of the counts file the shim maps (16 slots of two 64-bit counters).
constexpr std::size_t kSyscallCountsBytes = 16 * 16;
// The counts of a finished run: for each syscall spec, calls seen and faults injected.
struct SyscallCount {
  std::string call;
  std::uint64_t calls = 0;
  std::uint64_t injected = 0;
};
std::vector<SyscallCount> read_syscall_counts(const std::string& counts_path,
                                              const std::vector<std::string>& calls);

// Whether `program` (a path) is an ELF executable the dynamic loader starts (it has an
// interpreter): only those load preloaded libraries. Scripts (#!) count as dynamic: their
// interpreter is. Nothing when it cannot tell (a missing file).
std::optional<bool> is_dynamically_linked(const std::string& program);

// Whether `program` is a Go binary (it has Go's build id or build info section), linked either
// way: Go makes its own system calls, so the shim misses them even in a dynamically linked one
// (cgo's net resolver links libc).
bool is_go_program(const std::string& program);

// Why syscall faults on the program at `path` need the seccomp launcher ("<shown> is statically
// linked", "<shown> is a Go program ..."), or nothing: the LD_PRELOAD shim reaches it.
std::optional<std::string> seccomp_reason(const std::string& path, std::string_view shown);

}  // namespace faultline::fault
