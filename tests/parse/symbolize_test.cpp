// Symbolizing in the driver (harness/parse/symbolize.h) with a lookup the test controls: which
// lines are rewritten and into what, how inlined frames are numbered, what is cached.

#include "harness/parse/symbolize.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "harness/parse/report_parser.h"

namespace faultline {
namespace {

const std::string kBin = "/opt/app/bin/server";

// Answers 0x10 with one frame, 0x20 with two (an inlined call), and nothing else.
struct FakeLookup {
  std::vector<std::vector<CodeAddress>>* calls;
  std::map<CodeAddress, std::vector<SourceFrame>> operator()(const std::vector<CodeAddress>& want) {
    calls->push_back(want);
    std::map<CodeAddress, std::vector<SourceFrame>> out;
    for (const auto& a : want) {
      if (a.module != kBin) continue;
      if (a.offset == 0x10) out[a] = {{"decode(Reply&)", "/src/decode.cpp", 71, 5}};
      if (a.offset == 0x20) {
        out[a] = {
            {"std::map<int, int>::size() const", "/usr/include/c++/12/bits/stl_map.h", 481, 25},
            {"read_reply(Reply const&)", "/src/caller.cpp", 12, 3}};
      }
    }
    return out;
  }
};

TEST(Symbolize, TsanFramesGetTheirFunctionsAndInlinedFramesAreNumberedOn) {
  std::vector<std::vector<CodeAddress>> calls;
  Symbolizer sym{FakeLookup{&calls}};
  const std::string raw =
      "==================\n"
      "WARNING: ThreadSanitizer: data race (pid=7)\n"
      "  Write of size 8 at 0x7b14 by thread T3:\n"
      "    #0 <null> <null> (/opt/app/bin/server+0x10)\n"
      "    #1 <null> <null> (/opt/app/bin/server+0x20)\n"
      "    #2 <null> <null> (/opt/app/bin/server+0x30)\n"
      "\n"
      "  Previous read of size 8 at 0x7b14 by thread T8:\n"
      "    #0 <null> <null> (/opt/app/bin/server+0x20)\n"
      "    #1 <null> <null> (/lib/x86_64-linux-gnu/libc.so.6+0x27249)\n"
      "\n"
      "SUMMARY: ThreadSanitizer: data race (/opt/app/bin/server+0x10) \n"
      "==================\n";
  const std::string out = sym.symbolize(raw);
  EXPECT_EQ(out,
            "==================\n"
            "WARNING: ThreadSanitizer: data race (pid=7)\n"
            "  Write of size 8 at 0x7b14 by thread T3:\n"
            "    #0 decode(Reply&) /src/decode.cpp:71 (/opt/app/bin/server+0x10)\n"
            "    #1 std::map<int, int>::size() const /usr/include/c++/12/bits/stl_map.h:481 "
            "(/opt/app/bin/server+0x20)\n"
            "    #2 read_reply(Reply const&) /src/caller.cpp:12 (/opt/app/bin/server+0x20)\n"
            "    #3 <null> <null> (/opt/app/bin/server+0x30)\n"
            "\n"
            "  Previous read of size 8 at 0x7b14 by thread T8:\n"
            "    #0 std::map<int, int>::size() const /usr/include/c++/12/bits/stl_map.h:481 "
            "(/opt/app/bin/server+0x20)\n"
            "    #1 read_reply(Reply const&) /src/caller.cpp:12 (/opt/app/bin/server+0x20)\n"
            "    #2 <null> <null> (/lib/x86_64-linux-gnu/libc.so.6+0x27249)\n"
            "\n"
            "SUMMARY: ThreadSanitizer: data race /src/decode.cpp:71 in decode(Reply&)\n"
            "==================\n");
  // One lookup, each address once, in the order they first appear.
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(
      calls[0],
      (std::vector<CodeAddress>{
          {kBin, 0x10}, {kBin, 0x20}, {kBin, 0x30}, {"/lib/x86_64-linux-gnu/libc.so.6", 0x27249}}));
  // The parser reads the result as a runtime-symbolized report.
  const auto symptoms = parse_reports(out);
  ASSERT_EQ(symptoms.size(), 1u);
  EXPECT_EQ(symptoms[0].kind, "data_race");
  ASSERT_FALSE(symptoms[0].frames.empty());
  EXPECT_EQ(symptoms[0].frames[0].function, "decode(Reply&)");
  EXPECT_EQ(symptoms[0].frames[0].location, "/src/decode.cpp:71");
}

TEST(Symbolize, AsanFramesKeepTheirPcAndGainAColumn) {
  std::vector<std::vector<CodeAddress>> calls;
  Symbolizer sym{FakeLookup{&calls}};
  const std::string out = sym.symbolize(
      "    #0 0x55bc07cad59b  (/opt/app/bin/server+0x10)\n"
      "    #1 0x55bc07cad5a0  (/opt/app/bin/server+0x20) (BuildId: ab12)\n"
      "    #2 0x7f8228645249  (/lib/x86_64-linux-gnu/libc.so.6+0x27249)\n"
      "SUMMARY: AddressSanitizer: heap-use-after-free (/opt/app/bin/server+0x10) ");
  EXPECT_EQ(
      out,
      "    #0 0x55bc07cad59b in decode(Reply&) /src/decode.cpp:71:5\n"
      "    #1 0x55bc07cad5a0 in std::map<int, int>::size() const "
      "/usr/include/c++/12/bits/stl_map.h:481:25 (BuildId: ab12)\n"
      "    #2 0x55bc07cad5a0 in read_reply(Reply const&) /src/caller.cpp:12:3 (BuildId: ab12)\n"
      "    #3 0x7f8228645249  (/lib/x86_64-linux-gnu/libc.so.6+0x27249)\n"
      "SUMMARY: AddressSanitizer: heap-use-after-free /src/decode.cpp:71:5 in decode(Reply&)");
}

TEST(Symbolize, SymbolizedAndForeignLinesAreLeftAsTheyAre) {
  std::vector<std::vector<CodeAddress>> calls;
  Symbolizer sym{FakeLookup{&calls}};
  const std::string text =
      "    #0 decode(Reply&) /src/decode.cpp:71 (server+0x10)\n"  // symbolized by the runtime
      "    #1 <null> <null> (server+0x10)\n"                      // no path: nothing to read
      "    #2 0x55bc07cad59b in main /src/main.cpp:3:1\n"         // ASan, symbolized
      "  #1 something (/opt/app/bin/server+0x10)\n"               // a function is there
      "SUMMARY: ThreadSanitizer: data race /src/decode.cpp:71 in decode(Reply&)\n"
      "plain output (/opt/app/bin/server+0x10)\n";
  EXPECT_EQ(sym.symbolize(text), text);
  EXPECT_TRUE(calls.empty()) << "nothing to look up, no lookup";
}

TEST(Symbolize, AnAddressIsLookedUpOnceAcrossCalls) {
  std::vector<std::vector<CodeAddress>> calls;
  Symbolizer sym{FakeLookup{&calls}};
  const std::string a = "    #0 <null> <null> (/opt/app/bin/server+0x10)\n";
  const std::string b =
      "    #0 <null> <null> (/opt/app/bin/server+0x10)\n"
      "    #1 <null> <null> (/opt/app/bin/server+0x20)\n";
  sym.symbolize(a);
  sym.symbolize(a);
  sym.symbolize(b);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1], (std::vector<CodeAddress>{{kBin, 0x20}}));
  EXPECT_EQ(sym.lookups(), 2u);
  EXPECT_EQ(sym.addresses_looked_up(), 2u);
}

TEST(Symbolize, AnUnplacedFrameKeepsItsTextWithItsNumberMoved) {
  std::vector<std::vector<CodeAddress>> calls;
  Symbolizer sym{FakeLookup{&calls}};
  // 0x20 expands to two frames, so the unplaced frame after it is #2, not #1; the next stack's
  // numbering starts again at #0.
  EXPECT_EQ(sym.symbolize("    #0 <null> <null> (/opt/app/bin/server+0x20)\n"
                          "    #1 <null> <null> (/opt/app/bin/server+0x99)\n"
                          "\n"
                          "    #0 <null> <null> (/opt/app/bin/server+0x99)\n"),
            "    #0 std::map<int, int>::size() const /usr/include/c++/12/bits/stl_map.h:481 "
            "(/opt/app/bin/server+0x20)\n"
            "    #1 read_reply(Reply const&) /src/caller.cpp:12 (/opt/app/bin/server+0x20)\n"
            "    #2 <null> <null> (/opt/app/bin/server+0x99)\n"
            "\n"
            "    #0 <null> <null> (/opt/app/bin/server+0x99)\n");
}

}  // namespace
}  // namespace faultline
