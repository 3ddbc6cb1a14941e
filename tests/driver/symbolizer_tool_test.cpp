// The driver's symbolizer with the real llvm-symbolizer (Debian's llvm-14), on this test's own
// binary: a frame printed the way sanitizer_env asks the runtimes to print them comes back with
// the function and the source line.

#include "harness/run/symbolizer_tool.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "harness/parse/report_parser.h"

namespace faultline {
namespace {

[[gnu::noinline]] int symbolizer_tool_test_marker(int x) {
  asm volatile("" : "+r"(x));
  return x * 3 + 1;
}

// "(/path/to/driver_test+0xOFFSET)" for an address inside the marker function.
std::string marker_frame_location() {
  Dl_info info{};
  auto* fn = reinterpret_cast<void*>(&symbolizer_tool_test_marker);
  EXPECT_NE(::dladdr(fn, &info), 0);
  char exe[PATH_MAX] = {};
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  EXPECT_GT(n, 0);
  const auto offset =
      reinterpret_cast<std::uintptr_t>(fn) - reinterpret_cast<std::uintptr_t>(info.dli_fbase) + 4;
  return fmt::format("({}+0x{:x})", exe, offset);
}

TEST(SymbolizerTool, PutsTheFunctionAndLineIntoAnUnsymbolizedFrame) {
  const auto tool = find_symbolizer_tool();
  if (!tool) GTEST_SKIP() << "no llvm-symbolizer (scripts/setup.sh installs llvm-14)";
  Symbolizer sym(llvm_symbolizer_lookup(*tool));
  const std::string where = marker_frame_location();
  const std::string report =
      "==================\n"
      "WARNING: ThreadSanitizer: data race (pid=1)\n"
      "  Write of size 4 at 0x7b04 by thread T1:\n"
      "    #0 <null> <null> " +
      where +
      "\n"
      "    #1 <null> <null> (/nonexistent/libnothing.so+0x10)\n"
      "\n"
      "SUMMARY: ThreadSanitizer: data race " +
      where +
      " \n"
      "==================\n";
  const std::string out = sym.symbolize(report);
  EXPECT_NE(out.find("#0 faultline::(anonymous namespace)::symbolizer_tool_test_marker(int)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("tests/driver/symbolizer_tool_test.cpp:"), std::string::npos) << out;
  EXPECT_NE(out.find("#1 <null> <null> (/nonexistent/libnothing.so+0x10)"), std::string::npos)
      << "a module it cannot read stays as printed:\n"
      << out;
  const auto symptoms = parse_reports(out);
  ASSERT_EQ(symptoms.size(), 1u) << out;
  ASSERT_FALSE(symptoms[0].frames.empty());
  EXPECT_EQ(symptoms[0].frames[0].function,
            "faultline::(anonymous namespace)::symbolizer_tool_test_marker(int)");
  EXPECT_NE(symptoms[0].summary.find("symbolizer_tool_test.cpp"), std::string::npos)
      << symptoms[0].summary;
  EXPECT_EQ(sym.lookups(), 1u);
  sym.symbolize(report);
  EXPECT_EQ(sym.lookups(), 1u) << "the second time every address is known";
}

}  // namespace
}  // namespace faultline
