// What the fuzz targets share: a property check that aborts (so libFuzzer keeps the input), the
// bytes as text, and a file holding them for decoders that read a path.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace faultline::fuzz {

// A broken property is a finding like a crash: say which, and abort for libFuzzer to keep it.
#define FUZZ_CHECK(condition, what)                                                              \
  do {                                                                                           \
    if (!(condition)) {                                                                          \
      std::fprintf(stderr, "fuzz property broken at %s:%d: %s (%s)\n", __FILE__, __LINE__, what, \
                   #condition);                                                                  \
      std::abort();                                                                              \
    }                                                                                            \
  } while (0)

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// An error a user reads: one line (a newline in it would break the driver's one-line rule and
// anything that greps its output), and bounded by what was given to it.
inline void check_message(std::string_view message, std::size_t input_size) {
  FUZZ_CHECK(!message.empty(), "an error message is empty");
  FUZZ_CHECK(message.find('\n') == std::string_view::npos, "an error message spans lines");
  FUZZ_CHECK(message.size() <= 2 * input_size + 1024, "an error message outgrows its input");
}

// The bytes in a memory file, named by a path the decoders can open ("/proc/self/fd/N"). One
// per process, rewritten for every input.
class InputFile {
 public:
  InputFile() : fd_(::memfd_create("fuzz-input", 0)) {
    if (fd_ < 0) std::abort();
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  const std::string& hold(const std::uint8_t* data, std::size_t size) {
    if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0) std::abort();
    for (std::size_t done = 0; done < size;) {
      const ssize_t n = ::write(fd_, data + done, size - done);
      if (n <= 0) std::abort();
      done += static_cast<std::size_t>(n);
    }
    return path_;
  }

 private:
  int fd_;
  std::string path_;
};

}  // namespace faultline::fuzz
