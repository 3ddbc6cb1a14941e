// The driver's symbolizer (harness/parse/symbolize.h) on arbitrary output, with a lookup that
// places some addresses and not others: text with nothing it can place comes out unchanged, and
// no line is lost.
#include <cstddef>
#include <cstdint>
#include <string>

#include "harness/parse/symbolize.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

std::size_t lines(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(faultline::fuzz::as_text(data, size));
  // Nothing placed: the text must come out as it went in.
  faultline::Symbolizer none([](const std::vector<faultline::CodeAddress>&) {
    return std::map<faultline::CodeAddress, std::vector<faultline::SourceFrame>>{};
  });
  FUZZ_CHECK(none.symbolize(text) == text, "a text with nothing placed was changed");
  // Offsets place 0 to 3 frames by their low bits; a third of them with no file.
  faultline::Symbolizer some([](const std::vector<faultline::CodeAddress>& want) {
    std::map<faultline::CodeAddress, std::vector<faultline::SourceFrame>> out;
    for (const auto& a : want) {
      for (std::uint64_t i = 0; i < a.offset % 4; ++i) {
        out[a].push_back({"f" + std::to_string(i), a.offset % 3 == 0 ? "" : "/s.cpp",
                          static_cast<unsigned>(i + 1), 2});
      }
    }
    return out;
  });
  const std::string out = some.symbolize(text);
  FUZZ_CHECK(lines(out) >= lines(text), "symbolizing lost a line");
  FUZZ_CHECK(some.symbolize(out).size() >= out.size(), "a second pass shrank the text");
  return 0;
}
