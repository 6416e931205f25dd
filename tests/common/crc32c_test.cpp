// CRC-32C: the standard check value, chaining, and the slicing-by-8 fast path against a plain
// bit-at-a-time reference over every length and alignment near the 8-byte boundaries.
#include "common/crc32c.h"

#include <catch2/catch.hpp>

#include <random>
#include <string>

using namespace trimserve;

namespace {

// The definition, one bit at a time (slow, obviously correct).
uint32_t crc32c_bitwise(std::string_view s) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : s) {
    crc ^= c;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
  }
  return ~crc;
}

}  // namespace

TEST_CASE("crc32c: standard check value", "[crc32c]") {
  CHECK(crc32c("123456789") == 0xE3069283u);
  CHECK(crc32c("") == 0u);
  // RFC 3720 (iSCSI) B.4: 32 bytes of zeros, and 32 bytes of 0xFF.
  CHECK(crc32c(std::string(32, '\0')) == 0x8A9136AAu);
  CHECK(crc32c(std::string(32, '\xFF')) == 0x62A8AB43u);
}

TEST_CASE("crc32c: chaining equals one pass", "[crc32c]") {
  const std::string s = "The quick brown fox jumps over the lazy dog, twice over.";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    const uint32_t head = crc32c(std::string_view(s).substr(0, cut));
    CHECK(crc32c_extend(head, s.data() + cut, s.size() - cut) == crc32c(s));
  }
}

TEST_CASE("crc32c: table-driven path matches the bitwise definition", "[crc32c]") {
  std::mt19937 rng(1234);
  std::string buf(300, '\0');
  for (char& c : buf) c = static_cast<char>(rng() & 0xFF);
  for (size_t offset = 0; offset < 9; ++offset) {
    for (size_t len = 0; len + offset <= buf.size(); len += (len < 40 ? 1 : 37)) {
      const std::string_view s = std::string_view(buf).substr(offset, len);
      INFO("offset " << offset << " len " << len);
      CHECK(crc32c(s) == crc32c_bitwise(s));
    }
  }
}
