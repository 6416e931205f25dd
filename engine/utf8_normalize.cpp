#include "engine/utf8_normalize.h"

#include <utf8proc.h>

#include <cstdlib>

#include "common/check.h"

namespace trimserve {
namespace {

// True if every byte is below `limit`. With limit 0xCC every code point is below U+0300
// (ASCII, continuation bytes, lead bytes C2..CB). Such text is already NFC: no code point
// below U+0300 has NFC_Quick_Check No or Maybe (the combining marks start at U+0300, the
// singleton decompositions at U+0340). ASCII (limit 0x80) is invariant under every form.
bool all_bytes_below(std::string_view text, unsigned limit) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= limit) return false;
  }
  return true;
}

}  // namespace

std::string_view unicode_normalize(NormalizationForm form, std::string_view text,
                                   std::string& storage) {
  int options = UTF8PROC_STABLE;
  switch (form) {
    case NormalizationForm::kNone:
      return text;
    case NormalizationForm::kNfc:
      options |= UTF8PROC_COMPOSE;
      break;
    case NormalizationForm::kNfd:
      options |= UTF8PROC_DECOMPOSE;
      break;
    case NormalizationForm::kNfkc:
      options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
      break;
    case NormalizationForm::kNfkd:
      options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
      break;
  }
  if (all_bytes_below(text, form == NormalizationForm::kNfc ? 0xCC : 0x80)) return text;
  utf8proc_uint8_t* mapped = nullptr;
  // Without UTF8PROC_NULLTERM utf8proc reads exactly text.size() bytes, so U+0000 is a
  // character like any other.
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                   static_cast<utf8proc_ssize_t>(text.size()), &mapped,
                   static_cast<utf8proc_option_t>(options));
  // Input is valid UTF-8 by precondition; the only other failure is out-of-memory.
  TS_CHECK_MSG(n >= 0, utf8proc_errmsg(n));
  storage.assign(reinterpret_cast<const char*>(mapped), static_cast<size_t>(n));
  std::free(mapped);
  return storage;
}

}  // namespace trimserve
