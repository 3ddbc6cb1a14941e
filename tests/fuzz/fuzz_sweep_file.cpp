// The sweep-file reader (harness/plan/sweep.h) on an arbitrary file: it reads it or refuses it
// with one line that starts with the file's name (and the line, "path:N: ...").
#include <cstddef>
#include <cstdint>

#include "harness/plan/catalog.h"
#include "harness/plan/sweep.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static faultline::fuzz::InputFile file;
  const std::string& path = file.hold(data, size);
  try {
    (void)faultline::parse_sweep_file(path);
  } catch (const faultline::UsageError& e) {
    const std::string_view message = e.what();
    faultline::fuzz::check_message(message, size + path.size());
    FUZZ_CHECK(message.starts_with(path + ":"), "a sweep-file error that does not name file:line");
  }
  return 0;
}
