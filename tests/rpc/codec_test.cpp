#include <gtest/gtest.h>

#include <string>

#include "servers/rpc/frame.h"
#include "servers/rpc/messages.h"

namespace faultline::rpc {
namespace {

Frame sample_request() {
  Frame f;
  f.kind = FrameKind::kRequest;
  f.call_id = 0x0102030405060708ull;
  f.method = "Ledger.Append";
  f.timeout = std::chrono::microseconds(20'000);
  f.idempotency_key = "c3-17";
  f.body = R"({"op":"c3-17","attempt":2})";
  return f;
}

TEST(Codec, RequestRoundTrip) {
  Frame in = sample_request();
  Frame out = decode_frame(encode_frame(in));
  EXPECT_EQ(out.kind, FrameKind::kRequest);
  EXPECT_EQ(out.call_id, in.call_id);
  EXPECT_EQ(out.method, in.method);
  ASSERT_TRUE(out.timeout.has_value());
  EXPECT_EQ(out.timeout->count(), 20'000);
  EXPECT_EQ(out.idempotency_key, in.idempotency_key);
  EXPECT_EQ(out.body, in.body);
}

TEST(Codec, RequestWithoutOptionalHeaders) {
  Frame in = sample_request();
  in.timeout.reset();
  in.idempotency_key.reset();
  Frame out = decode_frame(encode_frame(in));
  EXPECT_FALSE(out.timeout.has_value());
  EXPECT_FALSE(out.idempotency_key.has_value());
}

TEST(Codec, ResponseRoundTrip) {
  Frame in;
  in.kind = FrameKind::kResponse;
  in.call_id = 42;
  in.status = Status::kError;
  in.error = "divide by zero";
  Frame out = decode_frame(encode_frame(in));
  EXPECT_EQ(out.kind, FrameKind::kResponse);
  EXPECT_EQ(out.call_id, 42u);
  EXPECT_EQ(out.status, Status::kError);
  EXPECT_EQ(out.error, "divide by zero");
  EXPECT_TRUE(out.body.empty());
}

TEST(Codec, LengthPrefixIsBigEndianPayloadSize) {
  std::string bytes = encode_frame(sample_request());
  std::size_t n = (std::size_t{static_cast<unsigned char>(bytes[0])} << 24) |
                  (std::size_t{static_cast<unsigned char>(bytes[1])} << 16) |
                  (std::size_t{static_cast<unsigned char>(bytes[2])} << 8) |
                  std::size_t{static_cast<unsigned char>(bytes[3])};
  EXPECT_EQ(n, bytes.size() - kPrefixBytes);
}

TEST(Codec, EveryTruncationIsRejected) {
  std::string bytes = encode_frame(sample_request());
  for (std::size_t len = 0; len < bytes.size(); ++len) {
    EXPECT_THROW(decode_frame(bytes.substr(0, len)), FrameError) << "length " << len;
  }
}

TEST(Codec, TruncatedPayloadWithConsistentPrefixIsRejected) {
  // A prefix that matches the bytes given, but a payload cut short inside the header.
  std::string bytes = encode_frame(sample_request());
  std::string payload = bytes.substr(kPrefixBytes, 12);
  auto* p = reinterpret_cast<const std::uint8_t*>(payload.data());
  EXPECT_THROW(decode_payload(std::span<const std::uint8_t>(p, payload.size())), FrameError);
}

TEST(Codec, OversizedPrefixIsRejectedBeforeAllocation) {
  std::uint8_t prefix[4] = {0xFF, 0xFF, 0xFF, 0xF0};
  try {
    decode_prefix(std::span<const std::uint8_t, 4>(prefix, 4));
    FAIL() << "no error for a 4 GiB frame";
  } catch (const FrameError& e) {
    EXPECT_NE(std::string(e.what()).find("exceeds"), std::string::npos) << e.what();
  }
  std::uint8_t zero[4] = {0, 0, 0, 0};
  EXPECT_THROW(decode_prefix(std::span<const std::uint8_t, 4>(zero, 4)), FrameError);
}

TEST(Codec, GarbageIsRejected) {
  std::string bytes = encode_frame(sample_request());
  std::string bad_magic = bytes;
  bad_magic[kPrefixBytes] = 'G';
  EXPECT_THROW(decode_frame(bad_magic), FrameError);
  std::string bad_kind = bytes;
  bad_kind[kPrefixBytes + 1] = 9;
  EXPECT_THROW(decode_frame(bad_kind), FrameError);
  std::string trailing = bytes + "x";  // prefix no longer matches
  EXPECT_THROW(decode_frame(trailing), FrameError);
  std::string text = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_THROW(decode_frame(text), FrameError);
}

TEST(Codec, BodyLengthMustMatchTheRest) {
  Frame f = sample_request();
  std::string bytes = encode_frame(f);
  // The last byte of the body length field sits just before the body.
  std::size_t at = bytes.size() - f.body.size() - 1;
  bytes[at] = static_cast<char>(bytes[at] + 1);
  EXPECT_THROW(decode_frame(bytes), FrameError);
}

TEST(Messages, DivideReplyRoundTripAndErrors) {
  DivideReply r{10, 3, {{"Quo", 3}, {"Rem", 1}}};
  DivideReply out;
  decode_divide_reply(encode_divide_reply(r), out);
  EXPECT_EQ(out.a, 10);
  EXPECT_EQ(out.b, 3);
  EXPECT_EQ(out.quotient, r.quotient);
  EXPECT_THROW(decode_divide_reply("not json", out), std::invalid_argument);
  EXPECT_THROW(decode_divide_reply(R"({"a":1,"b":2})", out), std::invalid_argument);
  EXPECT_THROW(decode_divide_args(R"({"a":"x","b":2})"), std::invalid_argument);
  EXPECT_THROW(decode_append_args(R"({"op":"","attempt":1})"), std::invalid_argument);
  EXPECT_EQ(decode_append_args(encode_append_args({"c1-2", 3})).attempt, 3u);
}

}  // namespace
}  // namespace faultline::rpc
