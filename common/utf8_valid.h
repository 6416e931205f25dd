// UTF-8 well-formedness at one position, for the writers that must never emit invalid UTF-8
// (JSON log lines, Prometheus exposition): they replace what this rejects with U+FFFD.
// Pure function; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

namespace trimserve {

// Length of the valid multi-byte UTF-8 sequence starting at s[i], or 0 if it is not one (ASCII
// bytes are the caller's to handle: they return 0 too; overlong forms,
// surrogates and code points past U+10FFFF are invalid, as JSON parsers require).
size_t utf8_sequence_length(std::string_view s, size_t i);

}  // namespace trimserve
