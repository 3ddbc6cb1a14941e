// The epoll echo server's decoder (servers/epoll/frame.h, scan_frames) on arbitrary received
// bytes, with an output bound taken from the first two bytes: it consumes only whole frames,
// answers each with one reply that echoes its payload, and stops at a bad prefix.
#include <cstddef>
#include <cstdint>
#include <string>

#include "servers/epoll/frame.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace epoll = faultline::epoll;
  if (size < 2) return 0;
  const std::size_t out_limit = (std::size_t{data[0]} << 8 | data[1]) * 16;
  const std::string_view in = faultline::fuzz::as_text(data + 2, size - 2);
  std::string out;
  const epoll::FrameScan scan = epoll::scan_frames(in, out, out_limit);
  FUZZ_CHECK(scan.consumed <= in.size(), "consumed more than it was given");
  // Every reply is the prefix, "received: " and the payload of the frame at the same place.
  std::size_t at_in = 0, at_out = 0, frames = 0;
  while (at_in < scan.consumed) {
    FUZZ_CHECK(scan.consumed - at_in >= epoll::kPrefixBytes, "consumed part of a prefix");
    const std::uint32_t length = epoll::read_prefix(in.data() + at_in);
    FUZZ_CHECK(length >= 1 && length <= epoll::kMaxFrameBytes, "answered a bad prefix");
    FUZZ_CHECK(out.size() - at_out >= epoll::kPrefixBytes, "a reply without its prefix");
    const std::uint32_t reply = epoll::read_prefix(out.data() + at_out);
    FUZZ_CHECK(reply == epoll::kReplyPrefix.size() + length, "a reply of the wrong length");
    FUZZ_CHECK(out.compare(at_out + epoll::kPrefixBytes + epoll::kReplyPrefix.size(), length, in,
                           at_in + epoll::kPrefixBytes, length) == 0,
               "a reply that does not echo its payload");
    at_in += epoll::kPrefixBytes + length;
    at_out += epoll::kPrefixBytes + reply;
    ++frames;
  }
  FUZZ_CHECK(at_in == scan.consumed && at_out == out.size(), "consumed a partial frame");
  FUZZ_CHECK(frames == scan.frames, "miscounted its frames");
  const std::string_view rest = in.substr(scan.consumed);
  if (!scan.bad_prefix && out.size() <= out_limit && rest.size() >= epoll::kPrefixBytes) {
    const std::uint32_t next = epoll::read_prefix(rest.data());
    FUZZ_CHECK(next >= 1 && next <= epoll::kMaxFrameBytes, "stopped at a bad prefix unsaid");
    FUZZ_CHECK(rest.size() - epoll::kPrefixBytes < next, "stopped before a whole frame");
  }
  return 0;
}
