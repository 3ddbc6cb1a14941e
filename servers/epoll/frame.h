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

}  // namespace faultline::epoll
