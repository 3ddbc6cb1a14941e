// The echo protocol of the raw epoll server: length-prefixed frames over TCP.
//
//   u32  payload length (big-endian), 1..kMaxFrameBytes
//   payload
//
// The server answers every frame with one frame whose payload is kReplyPrefix + the request's
// payload. A decoder never trusts a length: a prefix of 0 or above the cap is a protocol error,
// checked before any byte of the payload is buffered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace faultline::epoll {

inline constexpr std::size_t kPrefixBytes = 4;
inline constexpr std::size_t kMaxFrameBytes = 64 * 1024;  // request payload cap, bytes
inline constexpr std::string_view kReplyPrefix = "received: ";

// Appends prefix + payload to `out`.
void append_frame(std::string& out, std::string_view payload);

// Appends the reply to `request_payload` (prefix + "received: " + payload) to `out`.
void append_reply(std::string& out, std::string_view request_payload);

// The payload length announced by the first kPrefixBytes of `bytes` (which must hold them).
std::uint32_t read_prefix(const char* bytes);

// What scan_frames did with the bytes a connection received.
struct FrameScan {
  std::size_t consumed = 0;  // bytes of whole frames answered, from the front of the input
  std::size_t frames = 0;    // frames answered
  bool bad_prefix = false;   // a prefix of 0 or above kMaxFrameBytes: the connection must end
};

// The decoder of untrusted bytes: answers each whole frame at the front of `in` by appending its
// reply to `out`, and stops at a partial frame, at a bad prefix, or once `out` holds more than
// `out_limit` bytes (replies the peer has not read yet bound what is decoded next).
FrameScan scan_frames(std::string_view in, std::string& out, std::size_t out_limit);

}  // namespace faultline::epoll
