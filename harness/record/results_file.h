// Results files: JSON Lines, one run record per line (schema: docs/record-schema.md).
//
// Appending is crash-safe: each record is one write(2) of a whole line followed by fdatasync,
// and opening a file whose last line was torn (a driver killed inside write) first cuts that
// line off, so readers only ever see whole records.
//
// Several drivers may append to one file at once (two shards given the same --out, a replay
// into the file a sweep is filling): every append holds an advisory lock (flock) on the file
// for its write, and the repair at open takes the same lock, so a tail without its newline is
// cut only when no live writer can be in the middle of it.
#pragma once

#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/record/record.h"

namespace faultline {

class ResultsWriter {
 public:
  // Opens (creating folders and the file as needed) and repairs a torn tail. Throws UsageError
  // naming the path and the fix, touching nothing, when it cannot be written, is not a regular
  // file (a device, a folder), or holds something other than run records.
  explicit ResultsWriter(std::filesystem::path path);
  ~ResultsWriter();
  ResultsWriter(const ResultsWriter&) = delete;
  ResultsWriter& operator=(const ResultsWriter&) = delete;

  // Thread-safe, and safe against other processes appending. Throws ResultsWriteError.
  void append(const Record& record);
  void append(const nlohmann::json& record);  // a record as JSON, or any line
  const std::filesystem::path& path() const { return path_; }
  std::size_t repaired_bytes() const { return repaired_bytes_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::size_t repaired_bytes_ = 0;
  std::mutex mutex_;
};

// A problem with a results file: names the file and the line.
class ResultsFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A record that could not be written (a full disk, say): names the file and the cause.
class ResultsWriteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads every record. Throws ResultsFileError for an unreadable or empty file, a line that is not
// JSON, a record of another schema version, or a record missing a required field, naming the
// file and line. A torn last line (no newline, not JSON) is skipped with a warning in `warnings`.
std::vector<Record> read_records(const std::filesystem::path& path,
                                 std::vector<std::string>* warnings = nullptr);

}  // namespace faultline
