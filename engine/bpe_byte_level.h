// GPT-2 "byte-level" alphabet: every byte 0..255 is shown as one printable code point so
// that vocab entries in tokenizer.json are text. Bytes 0x21..0x7E, 0xA1..0xAC and
// 0xAE..0xFF stand for themselves; the other 68 bytes map, in increasing byte order, to
// U+0100, U+0101, ... (so a space is 'Ġ' U+0120 and '\n' is 'Ċ' U+010A).
//
// The tokenizer works on raw bytes internally; this mapping is needed only to read vocab and
// merges from tokenizer.json and to show/accept tokens in their HF spelling.
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace trimserve {

// The code point that stands for `byte`.
char32_t byte_level_char(unsigned char byte);

// The byte a code point stands for, or nullopt if it is not in the alphabet.
std::optional<unsigned char> byte_level_byte(char32_t cp);

// "Ġhello" -> " hello". nullopt if `token` is not valid UTF-8 or holds a code point outside
// the alphabet (added tokens such as "<|im_start|>" are plain ASCII and do decode).
std::optional<std::string> byte_level_decode(std::string_view token);

// " hello" -> "Ġhello".
std::string byte_level_encode(std::string_view bytes);

}  // namespace trimserve
