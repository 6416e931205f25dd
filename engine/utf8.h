// UTF-8 helpers for the tokenizer: validation, lossy repair, code point iteration, and the
// two Unicode predicates HF's added-token matching depends on.
//
// All functions are pure and thread-safe. "Lossy" always means the Unicode / WHATWG
// "substitution of maximal subparts" practice: every maximal ill-formed subsequence becomes
// one U+FFFD. That is exactly what Rust's String::from_utf8_lossy (HF tokenizers' decode) and
// JavaScript's TextDecoder do, so decoded text is byte-identical to theirs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace trimserve {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Appends the UTF-8 encoding of `cp` (must be a Unicode scalar value) to `out`.
void utf8_append(char32_t cp, std::string& out);

// True if `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool utf8_is_valid(std::string_view s);

// Decodes the scalar value starting at s[pos] and advances pos past it. Precondition:
// s is valid UTF-8 and pos < s.size() (callers validate untrusted text first).
char32_t utf8_next(std::string_view s, size_t& pos);

// Decodes the scalar value that ends at s[end) (the last one before `end`).
// Precondition: s is valid UTF-8 and end > 0 lies on a character boundary.
char32_t utf8_prev(std::string_view s, size_t end);

// Appends `bytes` to `out` with every maximal ill-formed subsequence replaced by U+FFFD.
// If `hold_incomplete_tail` is true, a trailing sequence that is a valid *prefix* of a
// character (it could still complete when more bytes arrive) is not converted; the
// return value is the number of bytes consumed (bytes.size() minus that tail). With
// false, such a tail becomes one U+FFFD and the whole input is consumed.
size_t utf8_append_lossy(std::string_view bytes, std::string& out, bool hold_incomplete_tail);

// Convenience: the lossy conversion of the whole of `bytes`.
std::string utf8_lossy(std::string_view bytes);

// Unicode White_Space property (what Rust's regex `\s` and Oniguruma's `\s` match; note it
// includes U+0085 NEXT LINE and excludes U+FEFF, unlike JavaScript's `\s`).
bool unicode_is_white_space(char32_t cp);

// Rust regex `\w` (Unicode word character: Alphabetic, Mark, Decimal_Number,
// Connector_Punctuation, Join_Control), used by HF for `single_word` added tokens.
// Alphabetic is approximated by general category L*/Nl plus the Other_Alphabetic letter-like
// symbols (circled/squared Latin letters); Other_Alphabetic marks are covered by Mark.
bool unicode_is_word_char(char32_t cp);

}  // namespace trimserve
