// Parsing of the human-friendly quantities config files use: byte sizes, durations and
// percentages. Pure string functions: no YAML, no key paths (callers add those to their
// error messages). Leading/trailing spaces and one space before the unit are allowed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace trimserve {

// Byte size: a non-negative number with an optional unit, case-insensitive:
//   B (or none), KB/MB/GB/TB (powers of 1000), KiB/MiB/GiB/TiB and K/M/G/T (powers of 1024).
// "8MiB" -> 8388608, "1.5 KiB" -> 1536, "1KB" -> 1000, "512" -> 512. A fractional result is
// rounded down. nullopt when malformed, negative, or larger than INT64_MAX.
std::optional<int64_t> parse_byte_size(std::string_view text);

// For messages: the largest binary unit that divides `bytes` exactly, else plain bytes:
// 8388608 -> "8MiB", 1536 -> "1536B" (not "1.5KiB": the text must parse back exactly), 0 -> "0B".
std::string format_byte_size(int64_t bytes);

// Duration in seconds: a non-negative number with an optional unit ms, s (or none), m, h.
// "30" -> 30, "1.5s" -> 1.5, "500ms" -> 0.5, "5m" -> 300, "2h" -> 7200. nullopt when
// malformed or negative.
std::optional<double> parse_duration_s(std::string_view text);

// Percentage as a fraction: "90%" -> 0.9, "12.5 %" -> 0.125. The '%' is required. nullopt when
// malformed or negative (the caller checks the upper bound it needs).
std::optional<double> parse_percent(std::string_view text);

// A plain decimal number, no unit: "0.25", "-3", "1e3". nullopt for anything else (including
// inf/nan and hex).
std::optional<double> parse_number(std::string_view text);

// A plain decimal integer: "-12", "+7", "8080". nullopt for anything else or on overflow.
std::optional<int64_t> parse_integer(std::string_view text);

// A number as error messages show it: 65535, 0.5, 1e-06 (printf %g).
std::string format_number(double v);

}  // namespace trimserve
