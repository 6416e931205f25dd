#include "config/units.h"

#include <cctype>
#include <cstdio>
#include <charconv>
#include <cmath>
#include <limits>

namespace trimserve {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Splits "1.5 GiB" into the unsigned decimal "1.5" and the unit "GiB" (one space between them
// allowed). The number must be digits with at most one '.', and start with a digit.
bool split_number_unit(std::string_view text, std::string_view* number, std::string_view* unit) {
  text = trim(text);
  size_t i = 0;
  bool seen_dot = false;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) ||
                             (text[i] == '.' && !seen_dot))) {
    seen_dot = seen_dot || text[i] == '.';
    ++i;
  }
  if (i == 0 || !std::isdigit(static_cast<unsigned char>(text[0]))) return false;
  *number = text.substr(0, i);
  std::string_view rest = text.substr(i);
  if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  *unit = rest;
  return true;
}

}  // namespace

std::optional<double> parse_number(std::string_view text) {
  text = trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  // from_chars would read "0x10" as 0 and stop; require the whole text to be consumed.
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<int64_t> parse_integer(std::string_view text) {
  text = trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<int64_t> parse_byte_size(std::string_view text) {
  std::string_view number, unit_text;
  if (!split_number_unit(text, &number, &unit_text)) return std::nullopt;
  const std::string unit = lower(unit_text);
  int64_t multiplier;
  if (unit.empty() || unit == "b") {
    multiplier = 1;
  } else if (unit == "k" || unit == "kib") {
    multiplier = int64_t{1} << 10;
  } else if (unit == "m" || unit == "mib") {
    multiplier = int64_t{1} << 20;
  } else if (unit == "g" || unit == "gib") {
    multiplier = int64_t{1} << 30;
  } else if (unit == "t" || unit == "tib") {
    multiplier = int64_t{1} << 40;
  } else if (unit == "kb") {
    multiplier = 1000;
  } else if (unit == "mb") {
    multiplier = 1000 * 1000;
  } else if (unit == "gb") {
    multiplier = int64_t{1000} * 1000 * 1000;
  } else if (unit == "tb") {
    multiplier = int64_t{1000} * 1000 * 1000 * 1000;
  } else {
    return std::nullopt;
  }

  // Integer part exactly (so "9223372036854775807" survives); the fraction through long
  // double, where a rounding error below one byte is harmless.
  const size_t dot = number.find('.');
  const std::string_view whole = number.substr(0, dot);
  int64_t whole_value = 0;
  auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), whole_value);
  if (ec != std::errc() || end != whole.data() + whole.size()) return std::nullopt;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (whole_value > kMax / multiplier) return std::nullopt;
  int64_t bytes = whole_value * multiplier;
  if (dot != std::string_view::npos && dot + 1 < number.size()) {
    long double fraction = 0, scale = 0.1L;
    for (char c : number.substr(dot + 1)) {
      fraction += (c - '0') * scale;
      scale /= 10;
    }
    const auto extra = static_cast<int64_t>(std::floor(fraction * multiplier));
    if (extra > kMax - bytes) return std::nullopt;
    bytes += extra;
  }
  return bytes;
}

std::string format_byte_size(int64_t bytes) {
  static constexpr struct {
    int shift;
    const char* name;
  } kUnits[] = {{40, "TiB"}, {30, "GiB"}, {20, "MiB"}, {10, "KiB"}};
  if (bytes > 0) {
    for (const auto& unit : kUnits) {
      const int64_t size = int64_t{1} << unit.shift;
      if (bytes % size == 0) return std::to_string(bytes / size) + unit.name;
    }
  }
  return std::to_string(bytes) + "B";
}

std::optional<double> parse_duration_s(std::string_view text) {
  std::string_view number, unit;
  if (!split_number_unit(text, &number, &unit)) return std::nullopt;
  double scale;
  if (unit.empty() || unit == "s") {
    scale = 1;
  } else if (unit == "ms") {
    scale = 0.001;
  } else if (unit == "m") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  } else {
    return std::nullopt;
  }
  std::optional<double> value = parse_number(number);
  if (!value) return std::nullopt;
  return *value * scale;
}

std::optional<double> parse_percent(std::string_view text) {
  text = trim(text);
  if (text.empty() || text.back() != '%') return std::nullopt;
  text.remove_suffix(1);
  text = trim(text);
  // Only unsigned decimals: "-5%" and "1e2%" are rejected as unclear.
  std::string_view number, unit;
  if (!split_number_unit(text, &number, &unit) || !unit.empty()) return std::nullopt;
  std::optional<double> value = parse_number(number);
  if (!value) return std::nullopt;
  return *value / 100.0;
}

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace trimserve
