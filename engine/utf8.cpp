#include "engine/utf8.h"

#include <utf8proc.h>

#include "common/check.h"

namespace trimserve {
namespace {

// Length of the sequence a lead byte announces and the valid range of its *second* byte
// (Unicode Table 3-7). len == 0 marks a byte that can never start a character.
struct LeadInfo {
  int len;
  uint8_t lo;
  uint8_t hi;
};

LeadInfo lead_info(uint8_t b) {
  if (b < 0x80) return {1, 0, 0};
  if (b < 0xC2) return {0, 0, 0};  // continuation byte or overlong 2-byte lead
  if (b < 0xE0) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};  // excludes overlongs
  if (b == 0xED) return {3, 0x80, 0x9F};  // excludes surrogates
  if (b < 0xF0) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};  // excludes overlongs
  if (b < 0xF4) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};  // excludes > U+10FFFF
  return {0, 0, 0};
}

enum class SeqKind { kComplete, kInvalid, kTruncated };

// Classifies the sequence at s[pos]. `len` receives the bytes it spans: the full character
// when complete, the maximal ill-formed subpart (>= 1 byte) when invalid, the valid prefix
// when truncated by the end of input.
SeqKind classify(std::string_view s, size_t pos, size_t& len) {
  const auto b = static_cast<uint8_t>(s[pos]);
  const LeadInfo info = lead_info(b);
  if (info.len == 1) {
    len = 1;
    return SeqKind::kComplete;
  }
  if (info.len == 0) {
    len = 1;
    return SeqKind::kInvalid;
  }
  for (int k = 1; k < info.len; ++k) {
    if (pos + k >= s.size()) {
      len = static_cast<size_t>(k);
      return SeqKind::kTruncated;
    }
    const auto c = static_cast<uint8_t>(s[pos + k]);
    const uint8_t lo = k == 1 ? info.lo : 0x80;
    const uint8_t hi = k == 1 ? info.hi : 0xBF;
    if (c < lo || c > hi) {
      len = static_cast<size_t>(k);  // the bad byte itself starts the next subpart
      return SeqKind::kInvalid;
    }
  }
  len = static_cast<size_t>(info.len);
  return SeqKind::kComplete;
}

}  // namespace

void utf8_append(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool utf8_is_valid(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    if (static_cast<uint8_t>(s[pos]) < 0x80) {  // ASCII fast path
      ++pos;
      continue;
    }
    size_t len = 0;
    if (classify(s, pos, len) != SeqKind::kComplete) return false;
    pos += len;
  }
  return true;
}

char32_t utf8_next(std::string_view s, size_t& pos) {
  TS_CHECK(pos < s.size());
  const auto b0 = static_cast<uint8_t>(s[pos]);
  if (b0 < 0x80) {
    ++pos;
    return b0;
  }
  const int len = lead_info(b0).len;
  TS_CHECK(len >= 2 && pos + len <= s.size());
  char32_t cp = b0 & (0x7F >> len);
  for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<uint8_t>(s[pos + k]) & 0x3F);
  pos += static_cast<size_t>(len);
  return cp;
}

char32_t utf8_prev(std::string_view s, size_t end) {
  TS_CHECK(end > 0 && end <= s.size());
  size_t start = end - 1;
  while (start > 0 && (static_cast<uint8_t>(s[start]) & 0xC0) == 0x80) --start;
  size_t pos = start;
  return utf8_next(s, pos);
}

size_t utf8_append_lossy(std::string_view bytes, std::string& out, bool hold_incomplete_tail) {
  static constexpr char kReplacementUtf8[] = "\xEF\xBF\xBD";
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t len = 0;
    switch (classify(bytes, pos, len)) {
      case SeqKind::kComplete:
        out.append(bytes.substr(pos, len));
        break;
      case SeqKind::kInvalid:
        out.append(kReplacementUtf8, 3);
        break;
      case SeqKind::kTruncated:
        if (hold_incomplete_tail) return pos;
        out.append(kReplacementUtf8, 3);
        break;
    }
    pos += len;
  }
  return pos;
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  utf8_append_lossy(bytes, out, /*hold_incomplete_tail=*/false);
  return out;
}

bool unicode_is_white_space(char32_t cp) {
  if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
  if (cp < 0x85) return false;
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool unicode_is_word_char(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
           cp == '_';
  }
  if (cp == 0x200C || cp == 0x200D) return true;  // Join_Control
  // Other_Alphabetic symbols: circled, parenthesized-free squared and negative Latin letters.
  if ((cp >= 0x24B6 && cp <= 0x24E9) || (cp >= 0x1F130 && cp <= 0x1F149) ||
      (cp >= 0x1F150 && cp <= 0x1F169) || (cp >= 0x1F170 && cp <= 0x1F189)) {
    return true;
  }
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      return false;
  }
}

}  // namespace trimserve
