#include "engine/bpe_byte_level.h"

#include <array>

#include "engine/utf8.h"

namespace trimserve {
namespace {

bool stands_for_itself(unsigned b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct Tables {
  std::array<char32_t, 256> to_char{};
  // Every alphabet code point is below U+0144 (256 + 68), so a flat table inverts it.
  std::array<int, 0x144> to_byte{};

  Tables() {
    to_byte.fill(-1);
    char32_t next_shifted = 0x100;
    for (unsigned b = 0; b < 256; ++b) {
      const char32_t cp = stands_for_itself(b) ? b : next_shifted++;
      to_char[b] = cp;
      to_byte[cp] = static_cast<int>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;  // immutable after thread-safe static initialization
  return t;
}

}  // namespace

char32_t byte_level_char(unsigned char byte) { return tables().to_char[byte]; }

std::optional<unsigned char> byte_level_byte(char32_t cp) {
  if (cp >= tables().to_byte.size()) return std::nullopt;
  const int b = tables().to_byte[cp];
  if (b < 0) return std::nullopt;
  return static_cast<unsigned char>(b);
}

std::optional<std::string> byte_level_decode(std::string_view token) {
  if (!utf8_is_valid(token)) return std::nullopt;
  std::string out;
  out.reserve(token.size());
  size_t pos = 0;
  while (pos < token.size()) {
    const auto b = byte_level_byte(utf8_next(token, pos));
    if (!b) return std::nullopt;
    out.push_back(static_cast<char>(*b));
  }
  return out;
}

std::string byte_level_encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) utf8_append(byte_level_char(static_cast<unsigned char>(c)), out);
  return out;
}

}  // namespace trimserve
