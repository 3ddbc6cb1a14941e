#include "servers/epoll/frame.h"

namespace faultline::epoll {
namespace {
void append_prefix(std::string& out, std::size_t length) {
  const auto n = static_cast<std::uint32_t>(length);
  out.push_back(static_cast<char>((n >> 24) & 0xFF));
  out.push_back(static_cast<char>((n >> 16) & 0xFF));
  out.push_back(static_cast<char>((n >> 8) & 0xFF));
  out.push_back(static_cast<char>(n & 0xFF));
}
}  // namespace

void append_frame(std::string& out, std::string_view payload) {
  append_prefix(out, payload.size());
  out.append(payload);
}

void append_reply(std::string& out, std::string_view request_payload) {
  append_prefix(out, kReplyPrefix.size() + request_payload.size());
  out.append(kReplyPrefix);
  out.append(request_payload);
}

std::uint32_t read_prefix(const char* bytes) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes);
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
         std::uint32_t{b[3]};
}

FrameScan scan_frames(std::string_view in, std::string& out, std::size_t out_limit) {
  FrameScan scan;
  while (in.size() - scan.consumed >= kPrefixBytes && out.size() <= out_limit) {
    const std::uint32_t length = read_prefix(in.data() + scan.consumed);
    if (length == 0 || length > kMaxFrameBytes) {
      scan.bad_prefix = true;
      break;
    }
    if (in.size() - scan.consumed - kPrefixBytes < length) break;
    append_reply(out, in.substr(scan.consumed + kPrefixBytes, length));
    scan.consumed += kPrefixBytes + length;
    ++scan.frames;
  }
  return scan;
}

}  // namespace faultline::epoll
