// Record validation (harness/record/record.h) on one arbitrary results-file line: a record is
// refused with one line naming the field, or read into a Record that writes and reads back to
// the same JSON.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "harness/record/record.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const nlohmann::json line = nlohmann::json::parse(faultline::fuzz::as_text(data, size), nullptr,
                                                    /*allow_exceptions=*/false);
  if (line.is_discarded()) return 0;
  faultline::Record record;
  try {
    record = faultline::record_from_json(line);
  } catch (const faultline::RecordError& e) {
    faultline::fuzz::check_message(e.what(), size);
    return 0;
  }
  const nlohmann::json written = faultline::record_to_json(record);
  const nlohmann::json again = faultline::record_to_json(faultline::record_from_json(written));
  FUZZ_CHECK(written == again, "a record does not survive write and read");
  return 0;
}
