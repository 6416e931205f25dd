// UTF-8 helpers with Python `str` semantics for the Jinja interpreter.
//
// Python strings are sequences of code points, so `len`, indexing, slicing, `strip()` and
// `split()` in a chat template count code points, not bytes. Strings here are UTF-8 bytes;
// these helpers translate. Every input must be valid UTF-8 (the template source and the
// render context are validated once on entry, see utf8_valid), so decoding never fails.
// All functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace trimserve::jinja {

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool utf8_valid(std::string_view s);

// Decodes the code point starting at s[*pos] and advances *pos. Precondition: valid UTF-8.
char32_t utf8_next(std::string_view s, size_t* pos);

void utf8_append(char32_t cp, std::string* out);

std::vector<char32_t> utf8_decode(std::string_view s);
std::string utf8_encode(const std::vector<char32_t>& cps);

// Number of code points (Python len()).
size_t utf8_length(std::string_view s);

// Python str.isspace() for one code point (Unicode whitespace, as `\s` in Python's re).
bool py_is_space(char32_t cp);
// Python str.isprintable() for one code point (decides repr() escaping).
bool py_is_printable(char32_t cp);

// Python str.upper()/lower()/title()/capitalize()/swapcase() with simple case mappings
// (no multi-character expansions such as German sharp s -> "SS").
std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);
std::string py_title(std::string_view s);
std::string py_capitalize(std::string_view s);

// Python str.strip/lstrip/rstrip. `chars == nullptr` strips whitespace; otherwise strips
// any code point contained in *chars.
std::string py_strip(std::string_view s, const std::string* chars, bool left, bool right);

// Python str.split(sep=None, maxsplit) and str.rsplit. sep == nullptr splits on runs of
// whitespace and drops empty parts. Precondition: sep is non-empty when given.
std::vector<std::string> py_split(std::string_view s, const std::string* sep, int64_t maxsplit);
std::vector<std::string> py_rsplit(std::string_view s, const std::string* sep, int64_t maxsplit);
// Python str.splitlines(keepends).
std::vector<std::string> py_splitlines(std::string_view s, bool keepends);

// Python str.replace(old, new, count); count < 0 replaces all.
std::string py_replace(std::string_view s, std::string_view old, std::string_view repl,
                       int64_t count);

// Category predicates over every code point (false for the empty string), as in Python.
bool py_is_digit(std::string_view s);
bool py_is_alpha(std::string_view s);
bool py_is_alnum(std::string_view s);
bool py_is_all_space(std::string_view s);
// Python islower/isupper: at least one cased character and no cased character of the
// other case.
bool py_is_lower(std::string_view s);
bool py_is_upper(std::string_view s);

}  // namespace trimserve::jinja
