// The write-queue server's frame codec (frame.h).
#include "servers/queue/frame.h"

namespace faultline::queue {
namespace {

void put_le(char* p, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

std::uint64_t get_le(const char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

}  // namespace

std::uint32_t fnv1a(const char* p, std::size_t n) {
  std::uint32_t h = 2166136261u;
  for (std::size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(p[i]);
    h *= 16777619u;
  }
  return h;
}

std::string make_frame(std::size_t size, std::uint32_t seq, std::uint16_t conn,
                       std::uint64_t salt) {
  std::string f(size, '\0');
  put_le(f.data(), seq, 4);
  put_le(f.data() + 4, conn, 2);
  std::uint64_t x = salt ^ (std::uint64_t{seq} << 16 | conn);
  for (std::size_t i = 6; i + 4 < size; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    f[i] = static_cast<char>(x >> 56);
  }
  put_le(f.data() + size - 4, fnv1a(f.data(), size - 4), 4);
  return f;
}

bool frame_ok(const char* f, std::size_t size, std::uint32_t seq, std::uint16_t conn) {
  return get_le(f + size - 4, 4) == fnv1a(f, size - 4) && get_le(f, 4) == seq &&
         get_le(f + 4, 2) == conn;
}

}  // namespace faultline::queue
