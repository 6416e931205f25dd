#include "server/metrics/text_format.h"

#include <charconv>
#include <cmath>
#include <cstdint>

#include "common/check.h"
#include "common/utf8_valid.h"

namespace trimserve::metrics {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// Appends `text` escaped: backslash and newline always, '"' only when `quote` (label values;
// help text keeps its quotes). A byte that starts no well-formed UTF-8 sequence becomes U+FFFD.
void append_escaped(std::string& out, std::string_view text, bool quote) {
  for (size_t i = 0; i < text.size();) {
    char c = text[i];
    size_t len = 1;
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else if (static_cast<unsigned char>(c) < 0x80) {
      out += c;
    } else if ((len = utf8_sequence_length(text, i)) == 0) {
      out += kReplacement;
      len = 1;
    } else {
      out.append(text.substr(i, len));
    }
    i += len;
  }
}

}  // namespace

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Below 2^53 every integer is exact, and printing it as digits avoids "1e+06" for counts.
  constexpr double kExactIntegers = 9007199254740992.0;  // 2^53
  if (std::fabs(v) < kExactIntegers && v == std::trunc(v)) {
    return std::to_string(static_cast<int64_t>(v));  // -0.0 prints as "0"
  }
  char buf[32];  // the shortest round-trip form of a double needs at most 24
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  TS_CHECK(ec == std::errc());
  return std::string(buf, end);
}

void append_escaped_label_value(std::string& out, std::string_view value) {
  append_escaped(out, value, /*quote=*/true);
}

void append_escaped_help(std::string& out, std::string_view help) {
  append_escaped(out, help, /*quote=*/false);
}

void append_sample_line(std::string& out, std::string_view name,
                        const std::vector<std::string>& label_names,
                        const std::vector<std::string>& label_values, std::string_view le,
                        std::string_view value) {
  TS_CHECK(label_names.size() == label_values.size());
  out += name;
  if (!label_names.empty() || !le.empty()) {
    out += '{';
    for (size_t i = 0; i < label_names.size(); ++i) {
      if (i > 0) out += ',';
      out += label_names[i];
      out += "=\"";
      append_escaped_label_value(out, label_values[i]);
      out += '"';
    }
    if (!le.empty()) {
      if (!label_names.empty()) out += ',';
      out += "le=\"";
      out += le;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

}  // namespace trimserve::metrics
