#include "servers/rpc/frame.h"

#include <fmt/format.h>

#include <limits>

namespace faultline::rpc {
namespace {

constexpr std::uint8_t kHasTimeout = 1u << 0;
constexpr std::uint8_t kHasKey = 1u << 1;

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u16(std::uint16_t v) { be(v, 2); }
  void u32(std::uint32_t v) { be(v, 4); }
  void u64(std::uint64_t v) { be(v, 8); }
  void str16(std::string_view s, const char* what) {
    if (s.size() > std::numeric_limits<std::uint16_t>::max()) {
      throw FrameError(fmt::format("{} is {} bytes, more than 65535", what, s.size()));
    }
    u16(static_cast<std::uint16_t>(s.size()));
    out_.append(s);
  }
  void raw(std::string_view s) { out_.append(s); }

 private:
  void be(std::uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  std::string& out_;
};

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
  std::uint8_t u8(const char* what) { return static_cast<std::uint8_t>(be(1, what)); }
  std::uint16_t u16(const char* what) { return static_cast<std::uint16_t>(be(2, what)); }
  std::uint32_t u32(const char* what) { return static_cast<std::uint32_t>(be(4, what)); }
  std::uint64_t u64(const char* what) { return be(8, what); }
  std::string bytes(std::size_t n, const char* what) {
    need(n, what);
    std::string s(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  std::string str16(const char* what) { return bytes(u16(what), what); }
  std::size_t left() const { return in_.size() - pos_; }

 private:
  void need(std::size_t n, const char* what) {
    if (left() < n) {
      throw FrameError(fmt::format("truncated frame: {} needs {} bytes at offset {}, {} left", what,
                                   n, pos_, left()));
    }
  }
  std::uint64_t be(int bytes, const char* what) {
    need(static_cast<std::size_t>(bytes), what);
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | in_[pos_++];
    return v;
  }
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string_view status_name(Status status) {
  switch (status) {
    case Status::kOk:
      return "OK";
    case Status::kError:
      return "ERROR";
    case Status::kDeadlineExceeded:
      return "DEADLINE_EXCEEDED";
    case Status::kBadRequest:
      return "BAD_REQUEST";
    case Status::kUnknownMethod:
      return "UNKNOWN_METHOD";
    case Status::kBadFrame:
      return "BAD_FRAME";
  }
  return "UNKNOWN_STATUS";
}

std::string encode_frame(const Frame& frame) {
  std::string out;
  out.reserve(kPrefixBytes + 32 + frame.method.size() + frame.error.size() + frame.body.size() +
              (frame.idempotency_key ? frame.idempotency_key->size() : 0));
  Writer w(out);
  w.u32(0);  // patched below, once the payload's size is known
  w.u8(kMagic);
  w.u8(static_cast<std::uint8_t>(frame.kind));
  w.u64(frame.call_id);
  std::uint8_t flags = 0;
  if (frame.kind == FrameKind::kRequest) {
    if (frame.timeout) flags |= kHasTimeout;
    if (frame.idempotency_key) flags |= kHasKey;
  }
  w.u8(flags);
  if (frame.kind == FrameKind::kRequest) {
    w.str16(frame.method, "method");
    if (frame.timeout)
      w.u64(static_cast<std::uint64_t>(std::max<std::int64_t>(0, frame.timeout->count())));
    if (frame.idempotency_key) w.str16(*frame.idempotency_key, "idempotency key");
  } else {
    w.u8(static_cast<std::uint8_t>(frame.status));
    w.str16(frame.error, "error text");
  }
  if (frame.body.size() > kMaxFrameBytes) {
    throw FrameError(fmt::format("body is {} bytes, more than the {} byte frame cap",
                                 frame.body.size(), kMaxFrameBytes));
  }
  w.u32(static_cast<std::uint32_t>(frame.body.size()));
  w.raw(frame.body);
  std::size_t payload = out.size() - kPrefixBytes;
  if (payload > kMaxFrameBytes) {
    throw FrameError(fmt::format("frame payload is {} bytes, more than the {} byte cap", payload,
                                 kMaxFrameBytes));
  }
  for (int i = 0; i < 4; ++i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>((payload >> (8 * (3 - i))) & 0xFF);
  }
  return out;
}

std::uint32_t decode_prefix(std::span<const std::uint8_t, kPrefixBytes> prefix,
                            std::uint32_t max_payload) {
  std::uint32_t n = (std::uint32_t{prefix[0]} << 24) | (std::uint32_t{prefix[1]} << 16) |
                    (std::uint32_t{prefix[2]} << 8) | std::uint32_t{prefix[3]};
  if (n > max_payload) {
    throw FrameError(fmt::format("frame of {} bytes exceeds the {} byte cap", n, max_payload));
  }
  if (n == 0) throw FrameError("empty frame (length prefix 0)");
  return n;
}

Frame decode_payload(std::span<const std::uint8_t> payload) {
  Reader r(payload);
  std::uint8_t magic = r.u8("magic");
  if (magic != kMagic) {
    throw FrameError(fmt::format("bad magic byte 0x{:02X} (expected 0x{:02X})", magic, kMagic));
  }
  Frame f;
  std::uint8_t kind = r.u8("kind");
  if (kind != static_cast<std::uint8_t>(FrameKind::kRequest) &&
      kind != static_cast<std::uint8_t>(FrameKind::kResponse)) {
    throw FrameError(fmt::format("unknown frame kind {}", kind));
  }
  f.kind = static_cast<FrameKind>(kind);
  f.call_id = r.u64("call id");
  std::uint8_t flags = r.u8("flags");
  if (f.kind == FrameKind::kRequest) {
    if ((flags & ~(kHasTimeout | kHasKey)) != 0) {
      throw FrameError(fmt::format("unknown request flags 0x{:02X}", flags));
    }
    f.method = r.str16("method");
    if (f.method.empty()) throw FrameError("request without a method");
    if (flags & kHasTimeout) {
      std::uint64_t us = r.u64("timeout");
      if (us > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        throw FrameError("timeout out of range");
      }
      f.timeout = std::chrono::microseconds(static_cast<std::int64_t>(us));
    }
    if (flags & kHasKey) f.idempotency_key = r.str16("idempotency key");
  } else {
    if (flags != 0) throw FrameError(fmt::format("response with flags 0x{:02X}", flags));
    std::uint8_t status = r.u8("status");
    if (status > static_cast<std::uint8_t>(Status::kBadFrame)) {
      throw FrameError(fmt::format("unknown status {}", status));
    }
    f.status = static_cast<Status>(status);
    f.error = r.str16("error text");
  }
  std::uint32_t body = r.u32("body length");
  if (body != r.left()) {
    throw FrameError(fmt::format("body length {} does not match the {} bytes left in the frame",
                                 body, r.left()));
  }
  f.body = r.bytes(body, "body");
  return f;
}

Frame decode_frame(std::string_view bytes, std::uint32_t max_payload) {
  if (bytes.size() < kPrefixBytes) {
    throw FrameError(
        fmt::format("truncated frame: {} bytes, no complete length prefix", bytes.size()));
  }
  auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  std::uint32_t n =
      decode_prefix(std::span<const std::uint8_t, kPrefixBytes>(data, kPrefixBytes), max_payload);
  if (bytes.size() - kPrefixBytes != n) {
    throw FrameError(
        fmt::format("frame prefix says {} bytes, {} follow", n, bytes.size() - kPrefixBytes));
  }
  return decode_payload(std::span<const std::uint8_t>(data + kPrefixBytes, n));
}

}  // namespace faultline::rpc
