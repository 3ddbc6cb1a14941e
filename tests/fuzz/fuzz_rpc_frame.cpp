// The RPC frame decoder (servers/rpc/frame.h) on arbitrary bytes: it either throws FrameError
// with a one-line message or returns a frame that encodes and decodes back to itself.
#include <cstddef>
#include <cstdint>

#include "servers/rpc/frame.h"
#include "tests/fuzz/fuzz_support.h"

using faultline::fuzz::as_text;

namespace {
bool same(const faultline::rpc::Frame& a, const faultline::rpc::Frame& b) {
  return a.kind == b.kind && a.call_id == b.call_id && a.method == b.method &&
         a.timeout == b.timeout && a.idempotency_key == b.idempotency_key && a.status == b.status &&
         a.error == b.error && a.body == b.body;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace rpc = faultline::rpc;
  rpc::Frame frame;
  try {
    frame = rpc::decode_frame(as_text(data, size));
  } catch (const rpc::FrameError& e) {
    faultline::fuzz::check_message(e.what(), size);
    return 0;
  }
  const std::string again = rpc::encode_frame(frame);
  FUZZ_CHECK(again.size() <= size, "a decoded frame encodes longer than the bytes it came from");
  const rpc::Frame back = rpc::decode_frame(again);
  FUZZ_CHECK(same(frame, back), "a decoded frame does not survive encode and decode");
  return 0;
}
