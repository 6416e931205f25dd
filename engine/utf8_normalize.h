// Unicode normalization forms for HF `normalizer` entries (NFC, NFD, NFKC, NFKD), via
// utf8proc. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace trimserve {

enum class NormalizationForm { kNone, kNfc, kNfd, kNfkc, kNfkd };

// Normalizes `text` (must be valid UTF-8; callers repair untrusted input first). Returns a
// view of the result: `text` itself when it is trivially invariant (ASCII; for NFC anything
// below U+0300; kNone), which keeps ASCII- and Latin-heavy prompts copy-free, otherwise a
// view of `storage`, which receives the normalized text.
std::string_view unicode_normalize(NormalizationForm form, std::string_view text,
                                   std::string& storage);

}  // namespace trimserve
