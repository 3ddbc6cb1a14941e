// The frames the write-queue server sends: seq (4 bytes LE) | connection (2 bytes LE) | payload |
// FNV-1a 32 of the rest (4 bytes). A client checks each frame it reads, so bytes that changed on
// the way (a send from freed storage) show as a failed checksum or an out-of-order sequence.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace faultline::queue {

std::uint32_t fnv1a(const char* p, std::size_t n);

// Frame `seq` of connection `conn`, `size` bytes (at least 11); the payload is drawn from `salt`.
std::string make_frame(std::size_t size, std::uint32_t seq, std::uint16_t conn, std::uint64_t salt);

// Whether the `size` bytes at `f` are frame `seq` of connection `conn`, checksum intact.
bool frame_ok(const char* f, std::size_t size, std::uint32_t seq, std::uint16_t conn);

}  // namespace faultline::queue
