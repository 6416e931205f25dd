// Literal scanning for the lexer: numbers (jinja2's float_re / integer_re) and the Python
// "unicode-escape" decoding jinja2 applies to string literals.
#include "engine/jinja_literals.h"

#include <cerrno>
#include <cstdint>
#include <cstdlib>

#include "engine/jinja_utf8.h"

namespace trimserve::jinja {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Digits with single underscores between them: (\d+_)*\d+. Returns the end or npos.
size_t digit_run(std::string_view src, size_t p) {
  if (p >= src.size() || !is_digit(src[p])) return std::string::npos;
  while (p < src.size()) {
    if (is_digit(src[p])) {
      ++p;
    } else if (src[p] == '_' && p + 1 < src.size() && is_digit(src[p + 1])) {
      ++p;
    } else {
      break;
    }
  }
  return p;
}

// A float literal starting at p (digits, then a fraction and/or an exponent), or npos.
size_t float_end(std::string_view src, size_t p) {
  if (p > 0 && src[p - 1] == '.') return std::string::npos;  // (?<!\.)
  size_t e = digit_run(src, p);
  size_t frac = std::string::npos;
  if (e < src.size() && src[e] == '.') frac = digit_run(src, e + 1);
  size_t after = frac != std::string::npos ? frac : e;
  if (after < src.size() && (src[after] == 'e' || src[after] == 'E')) {
    size_t x = after + 1;
    if (x < src.size() && (src[x] == '+' || src[x] == '-')) ++x;
    const size_t exp_end = digit_run(src, x);
    if (exp_end != std::string::npos) return exp_end;
  }
  return frac;
}

}  // namespace

Status scan_number(std::string_view src, size_t start, size_t* end, Token* tok) {
  const size_t fe = float_end(src, start);
  if (fe != std::string::npos) {
    std::string text;
    for (size_t i = start; i < fe; ++i) {
      if (src[i] != '_') text.push_back(src[i]);
    }
    tok->type = TokenType::kFloat;
    tok->value = std::string(src.substr(start, fe - start));
    tok->float_value = std::strtod(text.c_str(), nullptr);
    *end = fe;
    return Status();
  }
  int base = 10;
  size_t digits = start;
  size_t e;
  const char x = start + 1 < src.size() ? static_cast<char>(src[start + 1] | 0x20) : 0;
  if (src[start] == '0' && (x == 'b' || x == 'o' || x == 'x')) {
    base = x == 'b' ? 2 : x == 'o' ? 8 : 16;
    digits = e = start + 2;
    auto ok = [&](char c) {
      const int v = is_digit(c) ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : 99;
      return v < base;
    };
    while (e < src.size() && (ok(src[e]) || (src[e] == '_' && e + 1 < src.size() && ok(src[e + 1])))) ++e;
    if (e == digits) {  // "0x" without digits: just the integer 0
      base = 10;
      digits = start;
      e = start + 1;
    }
  } else if (src[start] == '0') {
    e = start + 1;
    while (e + 1 < src.size() && src[e] == '_' && src[e + 1] == '0') e += 2;
    while (e < src.size() && src[e] == '0') ++e;
  } else {
    e = digit_run(src, start);
  }
  std::string text;
  for (size_t i = digits; i < e; ++i) {
    if (src[i] != '_') text.push_back(src[i]);
  }
  errno = 0;
  char* stop = nullptr;
  const unsigned long long v = std::strtoull(text.c_str(), &stop, base);
  if (errno != 0 || v > static_cast<unsigned long long>(INT64_MAX)) {
    return invalid_argument("integer literal too large");
  }
  tok->type = TokenType::kInteger;
  tok->value = std::string(src.substr(start, e - start));
  tok->int_value = static_cast<int64_t>(v);
  *end = e;
  return Status();
}

Status unescape_string(std::string_view s, std::string* out) {
  char32_t pending_high = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out->push_back(s[i]);
      continue;
    }
    const char c = s[++i];
    auto hex = [&](int n) -> int64_t {
      int64_t v = 0;
      for (int k = 1; k <= n; ++k) {
        if (i + k >= s.size()) return -1;
        const char h = static_cast<char>(s[i + k] | 0x20);
        const int d = is_digit(s[i + k]) ? s[i + k] - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
      }
      i += n;
      return v;
    };
    int64_t cp = -1;
    switch (c) {
      case '\n': continue;
      case '\\': out->push_back('\\'); continue;
      case '\'': out->push_back('\''); continue;
      case '"': out->push_back('"'); continue;
      case 'a': out->push_back('\a'); continue;
      case 'b': out->push_back('\b'); continue;
      case 'f': out->push_back('\f'); continue;
      case 'n': out->push_back('\n'); continue;
      case 'r': out->push_back('\r'); continue;
      case 't': out->push_back('\t'); continue;
      case 'v': out->push_back('\v'); continue;
      case 'x': cp = hex(2); break;
      case 'u': cp = hex(4); break;
      case 'U': cp = hex(8); break;
      case 'N': return invalid_argument("\\N{...} escapes are not supported");
      default:
        if (c >= '0' && c <= '7') {
          cp = c - '0';
          for (int k = 0; k < 2 && i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7'; ++k) {
            cp = cp * 8 + (s[++i] - '0');
          }
          break;
        }
        out->push_back('\\');  // unknown escapes are kept verbatim
        out->push_back(c);
        continue;
    }
    if (cp < 0) return invalid_argument(std::string("truncated \\") + c + " escape in string literal");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      pending_high = static_cast<char32_t>(cp);
      continue;
    }
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
      if (pending_high == 0) return invalid_argument("lone surrogate escape in string literal");
      cp = 0x10000 + ((pending_high - 0xD800) << 10) + (cp - 0xDC00);
      pending_high = 0;
    }
    if (pending_high != 0) return invalid_argument("lone surrogate escape in string literal");
    if (cp > 0x10FFFF) return invalid_argument("escape out of Unicode range in string literal");
    utf8_append(static_cast<char32_t>(cp), out);
  }
  if (pending_high != 0) return invalid_argument("lone surrogate escape in string literal");
  return Status();
}

}  // namespace trimserve::jinja
