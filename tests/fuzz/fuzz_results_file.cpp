// The results-file reader (harness/record/results_file.h) on an arbitrary file: it refuses the
// file with one line naming it, or returns records that each write and read back unchanged.
#include <cstddef>
#include <cstdint>

#include "harness/record/record.h"
#include "harness/record/results_file.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static faultline::fuzz::InputFile file;
  const std::string& path = file.hold(data, size);
  std::vector<faultline::Record> records;
  std::vector<std::string> warnings;
  try {
    records = faultline::read_records(path, &warnings);
  } catch (const faultline::ResultsFileError& e) {
    const std::string_view message = e.what();
    faultline::fuzz::check_message(message, size + path.size());
    FUZZ_CHECK(message.starts_with(path), "a results-file error that does not name the file");
    return 0;
  }
  for (const auto& w : warnings) faultline::fuzz::check_message(w, size + path.size());
  for (const auto& r : records) {
    const nlohmann::json written = faultline::record_to_json(r);
    FUZZ_CHECK(faultline::record_to_json(faultline::record_from_json(written)) == written,
               "a record read from a file does not survive write and read");
  }
  return 0;
}
