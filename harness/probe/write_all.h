// Writes all of a buffer to a file descriptor, retrying short writes and EINTR. Header-only and
// async-signal-safe (only write(2)), so a forked child may use it before exec.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace faultline {

// True when every byte was written; false on an error (errno says which) or a write that wrote
// nothing.
inline bool write_all(int fd, const void* data, std::size_t size) noexcept {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace faultline
