#include "harness/probe/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

namespace faultline {
namespace {
constexpr std::uint64_t kSubCount = std::uint64_t{1} << LatencyHistogram::kSubBits;
// Values below kSubCount have their own bucket (block 0); each exponent kSubBits..63 adds a block.
constexpr std::size_t kBlocks = 64 - LatencyHistogram::kSubBits + 1;
constexpr std::size_t kBuckets = kBlocks * kSubCount;
constexpr std::string_view kPrefix = "h1:";

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(const std::string& bytes) {
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const std::uint32_t n = std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16 |
                            std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8 |
                            static_cast<unsigned char>(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kBase64[(n >> s) & 63];
  }
  if (i < bytes.size()) {
    std::uint32_t n = std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    if (i + 1 < bytes.size()) n |= std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
    out += kBase64[(n >> 18) & 63];
    out += kBase64[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kBase64[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string unbase64(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0) throw HistogramDecodeError("the buckets are not base64 (length)");
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    std::uint32_t n = 0;
    int pad = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      if (c == '=' && last && j >= 2 && (j == 3 || text[i + 3] == '=')) {
        ++pad;
        n <<= 6;
        continue;
      }
      const int v = value(c);
      if (v < 0 || pad > 0) throw HistogramDecodeError("the buckets are not base64");
      n = n << 6 | static_cast<std::uint32_t>(v);
    }
    out += static_cast<char>((n >> 16) & 0xFF);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xFF);
    if (pad < 1) out += static_cast<char>(n & 0xFF);
  }
  return out;
}

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

std::uint64_t get_varint(std::string_view bytes, std::size_t& at) {
  std::uint64_t v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (at >= bytes.size()) throw HistogramDecodeError("the buckets end inside a number");
    const auto b = static_cast<unsigned char>(bytes[at++]);
    if (shift == 63 && (b & 0x7E) != 0) throw HistogramDecodeError("a number above 2^64");
    v |= std::uint64_t{b & 0x7Fu} << shift;
    if ((b & 0x80) == 0) return v;
  }
  throw HistogramDecodeError("a number above 2^64");
}

// The whole-number field before the next ':' of `text`, from `at`.
std::uint64_t get_field(std::string_view text, std::size_t& at, const char* name) {
  const std::size_t colon = text.find(':', at);
  const std::string_view digits = text.substr(at, colon - at);
  if (colon == std::string_view::npos || digits.empty() || digits.size() > 20 ||
      digits.find_first_not_of("0123456789") != std::string_view::npos) {
    throw HistogramDecodeError(std::string("its ") + name + " is not a whole number");
  }
  std::uint64_t v = 0;
  for (char c : digits) {
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10)
      throw HistogramDecodeError(std::string("its ") + name + " is above 2^64");
    v = v * 10 + d;
  }
  at = colon + 1;
  return v;
}
}  // namespace

std::size_t LatencyHistogram::bucket_count() {
  return kBuckets;
}

std::size_t LatencyHistogram::bucket_of(std::uint64_t value) {
  if (value < kSubCount) return static_cast<std::size_t>(value);
  unsigned exponent = 63u - static_cast<unsigned>(std::countl_zero(value));  // >= kSubBits
  std::uint64_t sub = (value >> (exponent - kSubBits)) & (kSubCount - 1);
  return static_cast<std::size_t>((exponent - kSubBits + 1) * kSubCount + sub);
}

std::uint64_t LatencyHistogram::lowest_of(std::size_t bucket) {
  if (bucket < kSubCount) return bucket;
  std::uint64_t exponent = bucket / kSubCount - 1 + kSubBits;
  std::uint64_t sub = bucket % kSubCount;
  return (std::uint64_t{1} << exponent) | (sub << (exponent - kSubBits));
}

std::uint64_t LatencyHistogram::highest_of(std::size_t bucket) {
  if (bucket < kSubCount) return bucket;
  std::uint64_t exponent = bucket / kSubCount - 1 + kSubBits;
  return lowest_of(bucket) + (std::uint64_t{1} << (exponent - kSubBits)) - 1;
}

std::uint64_t LatencyHistogram::count_in(std::size_t bucket) const {
  const std::size_t block = bucket / kSubCount;
  if (block >= blocks_.size() || blocks_[block].empty()) return 0;
  return blocks_[block][bucket % kSubCount];
}

void LatencyHistogram::record(std::uint64_t value, std::uint64_t times) {
  if (times == 0) return;
  const std::size_t bucket = bucket_of(value);
  const std::size_t block = bucket / kSubCount;
  if (blocks_.size() <= block) blocks_.resize(block + 1);
  if (blocks_[block].empty()) blocks_[block].assign(kSubCount, 0);
  blocks_[block][bucket % kSubCount] += times;
  count_ += times;
  sum_ += value * times;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  if (blocks_.size() < other.blocks_.size()) blocks_.resize(other.blocks_.size());
  for (std::size_t b = 0; b < other.blocks_.size(); ++b) {
    if (other.blocks_[b].empty()) continue;
    if (blocks_[b].empty()) blocks_[b].assign(kSubCount, 0);
    for (std::size_t i = 0; i < kSubCount; ++i) blocks_[b][i] += other.blocks_[b][i];
  }
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

std::uint64_t LatencyHistogram::percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b < blocks_.size(); ++b) {
    if (blocks_[b].empty()) continue;
    for (std::size_t i = 0; i < kSubCount; ++i) {
      seen += blocks_[b][i];
      if (seen >= rank) {
        const std::size_t bucket = b * kSubCount + i;
        std::uint64_t mid = lowest_of(bucket) + (highest_of(bucket) - lowest_of(bucket)) / 2;
        return std::clamp(mid, min_, max_);
      }
    }
  }
  return max_;
}

std::string LatencyHistogram::encode() const {
  std::string bytes;
  std::size_t previous = 0;
  bool first = true;
  for (std::size_t b = 0; b < blocks_.size(); ++b) {
    if (blocks_[b].empty()) continue;
    for (std::size_t i = 0; i < kSubCount; ++i) {
      const std::uint64_t n = blocks_[b][i];
      if (n == 0) continue;
      const std::size_t bucket = b * kSubCount + i;
      put_varint(bytes, first ? bucket : bucket - previous);
      put_varint(bytes, n);
      previous = bucket;
      first = false;
    }
  }
  return std::string(kPrefix) + std::to_string(count_) + ":" + std::to_string(min()) + ":" +
         std::to_string(max_) + ":" + std::to_string(sum_) + ":" + base64(bytes);
}

LatencyHistogram LatencyHistogram::decode(std::string_view text) {
  if (!text.starts_with(kPrefix)) {
    throw HistogramDecodeError("it does not start with \"h1:\" (a faultline histogram)");
  }
  std::size_t at = kPrefix.size();
  const std::uint64_t count = get_field(text, at, "count");
  const std::uint64_t min = get_field(text, at, "min");
  const std::uint64_t max = get_field(text, at, "max");
  const std::uint64_t sum = get_field(text, at, "sum");
  const std::string bytes = unbase64(text.substr(at));
  LatencyHistogram h;
  std::size_t pos = 0, bucket = 0, first_bucket = 0;
  std::uint64_t total = 0;
  bool first = true;
  while (pos < bytes.size()) {
    const std::uint64_t gap = get_varint(bytes, pos);
    const std::uint64_t n = get_varint(bytes, pos);
    if (!first && gap == 0) throw HistogramDecodeError("a bucket is given twice");
    if (gap >= kBuckets || bucket + gap >= kBuckets) {
      throw HistogramDecodeError("a bucket is beyond the last one");
    }
    if (n == 0) throw HistogramDecodeError("a bucket holds no values but is listed");
    if (n > count - total || total + n < total) {
      throw HistogramDecodeError("the buckets hold more values than its count");
    }
    bucket = first ? gap : bucket + gap;
    if (first) first_bucket = bucket;
    first = false;
    total += n;
    const std::size_t block = bucket / kSubCount;
    if (h.blocks_.size() <= block) h.blocks_.resize(block + 1);
    if (h.blocks_[block].empty()) h.blocks_[block].assign(kSubCount, 0);
    h.blocks_[block][bucket % kSubCount] = n;
  }
  if (total != count) throw HistogramDecodeError("the buckets hold fewer values than its count");
  if (count > 0 && (min < lowest_of(first_bucket) || min > highest_of(first_bucket) ||
                    max < lowest_of(bucket) || max > highest_of(bucket))) {
    throw HistogramDecodeError("its min or max lies outside its first or last bucket");
  }
  if (count == 0 && (min != 0 || max != 0 || sum != 0)) {
    throw HistogramDecodeError("it holds no values but has a min, max or sum");
  }
  h.count_ = count;
  h.sum_ = sum;
  h.min_ = count ? min : UINT64_MAX;
  h.max_ = max;
  return h;
}

bool operator==(const LatencyHistogram& a, const LatencyHistogram& b) {
  if (a.count_ != b.count_ || a.sum_ != b.sum_ || a.min() != b.min() || a.max_ != b.max_) {
    return false;
  }
  for (std::size_t bucket = 0; bucket < kBuckets; bucket += kSubCount) {
    for (std::size_t i = 0; i < kSubCount; ++i) {
      if (a.count_in(bucket + i) != b.count_in(bucket + i)) return false;
    }
  }
  return true;
}

}  // namespace faultline
