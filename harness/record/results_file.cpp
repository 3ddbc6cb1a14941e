#include "harness/record/results_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "harness/plan/catalog.h"
#include "harness/probe/write_all.h"

namespace faultline {
namespace fs = std::filesystem;

namespace {

// Cuts the file back to just after its last newline. Returns how many bytes were cut.
std::size_t repair_torn_tail(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size == 0) return 0;
  off_t end = st.st_size;
  char buf[4096];
  off_t pos = end;
  while (pos > 0) {
    off_t chunk = std::min<off_t>(pos, static_cast<off_t>(sizeof buf));
    pos -= chunk;
    if (::pread(fd, buf, static_cast<std::size_t>(chunk), pos) != chunk) return 0;
    for (off_t i = chunk; i > 0; --i) {
      if (buf[i - 1] == '\n') {
        off_t keep = pos + i;
        if (keep == end) return 0;
        if (::ftruncate(fd, keep) != 0) return 0;
        return static_cast<std::size_t>(end - keep);
      }
    }
  }
  // No newline at all: the only line is torn.
  if (::ftruncate(fd, 0) != 0) return 0;
  return static_cast<std::size_t>(end);
}

// The advisory lock every writer of a results file holds while it writes or repairs.
class FileLock {
 public:
  explicit FileLock(int fd) : fd_(fd) {
    while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ~FileLock() { ::flock(fd_, LOCK_UN); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

// Why an existing file at `path` must not be appended to, or "" when it may: it must be a
// regular file and, unless empty, begin with a run record (or be a single torn one). Reads
// only; the file is left as it is.
std::string not_a_results_file(const fs::path& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return "";
  if (!fs::is_regular_file(status)) return "it is not a regular file";
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";  // open() below names the problem
  std::string first;
  if (!std::getline(in, first) || first.empty()) return "";
  if (in.eof()) {  // no newline at all: a torn first record, or some other text
    return first.front() == '{' ? "" : "its only line is not a run record";
  }
  const auto j = nlohmann::json::parse(first, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("schema_version")) return "its first line is not a run record";
  return "";
}

}  // namespace

ResultsWriter::ResultsWriter(fs::path path) : path_(std::move(path)) {
  if (std::string why = not_a_results_file(path_); !why.empty()) {
    throw UsageError(
        fmt::format("--out {}: {}, so faultline will not write into it (give the "
                    "path of a results file, or of a new one)",
                    path_.string(), why));
  }
  std::error_code ec;
  if (path_.has_parent_path()) fs::create_directories(path_.parent_path(), ec);
  if (ec) {
    throw UsageError(
        fmt::format("cannot create folder {} for the results: {} (choose another "
                    "place with --out)",
                    path_.parent_path().string(), ec.message()));
  }
  fd_ = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw UsageError(fmt::format("cannot write results file {}: {} (choose another with --out)",
                                 path_.string(), std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    throw UsageError(
        fmt::format("--out {}: it is not a regular file, so faultline will not write "
                    "into it (give the path of a results file, or of a new one)",
                    path_.string()));
  }
  FileLock lock(fd_);  // no writer is mid-line while this is held
  repaired_bytes_ = repair_torn_tail(fd_);
}

ResultsWriter::~ResultsWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void ResultsWriter::append(const Record& record) {
  append(record_to_json(record));
}

void ResultsWriter::append(const nlohmann::json& record) {
  // Invalid UTF-8 in captured output must not make a record unwritable.
  std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard lock(mutex_);
  FileLock file_lock(fd_);
  const off_t before = ::lseek(fd_, 0, SEEK_END);
  if (!write_all(fd_, line.data(), line.size()) || ::fdatasync(fd_) != 0) {
    const int err = errno;
    // A part of the line may be in the file: take it back, so the file stays whole records.
    if (before >= 0) (void)!::ftruncate(fd_, before);
    throw ResultsWriteError(
        fmt::format("writing a run record to {} failed: {} (free space, or "
                    "choose another --out)",
                    path_.string(), std::strerror(err)));
  }
}

std::vector<Record> read_records(const fs::path& path, std::vector<std::string>* warnings) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    throw ResultsFileError(fmt::format(
        "{} is a folder, not a results file: give one of the .jsonl files in it", path.string()));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ResultsFileError(
        fmt::format("cannot read results file {}: {}", path.string(), std::strerror(errno)));
  }
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<Record> records;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < content.size()) {
    std::size_t nl = content.find('\n', pos);
    bool last_without_newline = nl == std::string::npos;
    std::string_view line(content.data() + pos, (last_without_newline ? content.size() : nl) - pos);
    pos = last_without_newline ? content.size() : nl + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {  // not JSON, or a number beyond a double
      if (last_without_newline) {
        if (warnings) {
          warnings->push_back(
              fmt::format("{}:{}: skipped a torn last line (a run that was being "
                          "written when the driver died)",
                          path.string(), line_no));
        }
        continue;
      }
      throw ResultsFileError(
          fmt::format("{}:{}: not a JSON record ({}); is this a faultline "
                      "results file?",
                      path.string(), line_no, e.what()));
    }
    if (!record.is_object()) {
      throw ResultsFileError(
          fmt::format("{}:{}: the line is JSON but not an object; is this a "
                      "faultline results file?",
                      path.string(), line_no));
    }
    try {
      records.push_back(record_from_json(record));
    } catch (const RecordError& e) {
      throw ResultsFileError(fmt::format("{}:{}: {}", path.string(), line_no, e.what()));
    }
  }
  if (records.empty()) {
    throw ResultsFileError(
        fmt::format("{} holds no run records: run `faultline run` with --out {} first",
                    path.string(), path.string()));
  }
  return records;
}

}  // namespace faultline
