// The wire format of the faultline RPC stack: length-prefixed binary frames over TCP.
//
//   u32  length of the payload that follows (big-endian), at most kMaxFrameBytes
//   payload:
//     u8   magic 0xF1
//     u8   kind: 1 request, 2 response
//     u64  call id (chosen by the client, echoed by the server)
//     u8   flags: bit 0 a timeout is present, bit 1 an idempotency key is present
//     request:  u16 method length, method
//               [u64 timeout in microseconds: the time left when the request was sent, as gRPC's
//                grpc-timeout header carries it; the server turns it into its own deadline]
//               [u16 key length, idempotency key]
//     response: u8 status, u16 error length, error text
//     u32  body length, body (JSON text; the rest of the payload, exactly)
//
// Every integer is big-endian. A decoder never trusts a length: each is checked against the bytes
// that are left, and the prefix against the cap before anything is allocated.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace faultline::rpc {

inline constexpr std::size_t kPrefixBytes = 4;
inline constexpr std::uint32_t kMaxFrameBytes = 1u << 20;  // 1 MiB payload cap
inline constexpr std::uint8_t kMagic = 0xF1;

enum class FrameKind : std::uint8_t { kRequest = 1, kResponse = 2 };

enum class Status : std::uint8_t {
  kOk = 0,
  kError = 1,             // the method ran and failed ("divide by zero")
  kDeadlineExceeded = 2,  // the server's deadline passed before it committed
  kBadRequest = 3,        // a body or header the server could not use
  kUnknownMethod = 4,
  kBadFrame = 5,  // the frame itself was malformed or too large: the server closes the connection
};

std::string_view status_name(Status status);

struct Frame {
  FrameKind kind = FrameKind::kRequest;
  std::uint64_t call_id = 0;
  // Request fields.
  std::string method;
  std::optional<std::chrono::microseconds> timeout;
  std::optional<std::string> idempotency_key;
  // Response fields.
  Status status = Status::kOk;
  std::string error;
  // Both.
  std::string body;
};

// A malformed frame: the message says what was wrong and where.
class FrameError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The whole frame, prefix included, ready to write.
std::string encode_frame(const Frame& frame);

// Reads the length prefix; throws FrameError when it exceeds `max_payload` (nothing is allocated).
std::uint32_t decode_prefix(std::span<const std::uint8_t, kPrefixBytes> prefix,
                            std::uint32_t max_payload = kMaxFrameBytes);

// Decodes one payload (the bytes after the prefix); throws FrameError on any inconsistency.
Frame decode_payload(std::span<const std::uint8_t> payload);

// Decodes a whole frame held in one buffer (prefix + payload), as tests and benchmarks have it.
Frame decode_frame(std::string_view bytes, std::uint32_t max_payload = kMaxFrameBytes);

}  // namespace faultline::rpc
