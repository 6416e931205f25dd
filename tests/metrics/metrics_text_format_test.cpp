// The Prometheus text format pieces: number spelling, escaping, and the naming rules.
#include "server/metrics/metric_names.h"
#include "server/metrics/text_format.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include <catch2/catch.hpp>

using namespace trimserve::metrics;

TEST_CASE("format_value spells integers plainly and the rest round-trip", "[metrics]") {
  CHECK(format_value(0) == "0");
  CHECK(format_value(-0.0) == "0");
  CHECK(format_value(42) == "42");
  CHECK(format_value(-3) == "-3");
  CHECK(format_value(1e6) == "1000000");
  CHECK(format_value(9007199254740991.0) == "9007199254740991");  // 2^53 - 1
  CHECK(format_value(0.25) == "0.25");
  CHECK(format_value(2.5) == "2.5");
  CHECK(format_value(0.1) == "0.1");
  CHECK(format_value(1e20) == "1e+20");
  CHECK(format_value(1e-7) == "1e-07");
  CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(format_value(std::nan("")) == "NaN");
  // Whatever the spelling, it reads back to the same double.
  for (double v : {0.1 + 0.2, 1.0 / 3.0, 123456.789, 5e-324, 1.7976931348623157e308, -2.5e-3}) {
    std::string text = format_value(v);
    CHECK(std::strtod(text.c_str(), nullptr) == v);  // strtod: stod throws on subnormals
  }
}

TEST_CASE("label values escape backslash, quote and newline", "[metrics]") {
  std::string out;
  append_escaped_label_value(out, "a\\b\"c\nd\te");
  CHECK(out == "a\\\\b\\\"c\\nd\te");
}

TEST_CASE("help text escapes backslash and newline but keeps quotes", "[metrics]") {
  std::string out;
  append_escaped_help(out, "say \"hi\"\\\nbye");
  CHECK(out == "say \"hi\"\\\\\\nbye");
}

TEST_CASE("valid UTF-8 passes through, invalid bytes become U+FFFD", "[metrics]") {
  std::string out;
  // é, a snowman, an emoji: 2, 3 and 4 bytes.
  append_escaped_label_value(out, "t\xC3\xA9nant \xE2\x98\x83 \xF0\x9F\x98\x80");
  CHECK(out == "t\xC3\xA9nant \xE2\x98\x83 \xF0\x9F\x98\x80");
  out.clear();
  // A lone continuation byte, an overlong '/', a surrogate, a truncated sequence at the end.
  append_escaped_label_value(out, "a\x80" "b\xC0\xAF" "c\xED\xA0\x80" "d\xE2\x98");
  const std::string r = "\xEF\xBF\xBD";
  CHECK(out == "a" + r + "b" + r + r + "c" + r + r + r + "d" + r + r);
}

TEST_CASE("sample lines omit braces without labels and put le last", "[metrics]") {
  std::string out;
  append_sample_line(out, "up", {}, {}, {}, "1");
  append_sample_line(out, "x_bucket", {}, {}, "0.5", "2");
  append_sample_line(out, "x_bucket", {"a", "b"}, {"1", "\""}, "+Inf", "3");
  append_sample_line(out, "y", {"a"}, {""}, {}, "NaN");
  CHECK(out ==
        "up 1\n"
        "x_bucket{le=\"0.5\"} 2\n"
        "x_bucket{a=\"1\",b=\"\\\"\",le=\"+Inf\"} 3\n"
        "y{a=\"\"} NaN\n");
}

TEST_CASE("metric and label names follow the Prometheus rules", "[metrics]") {
  CHECK(is_valid_metric_name("vllm:prompt_tokens_total"));
  CHECK(is_valid_metric_name("_x9"));
  CHECK(is_valid_metric_name(":a"));
  CHECK_FALSE(is_valid_metric_name(""));
  CHECK_FALSE(is_valid_metric_name("9x"));
  CHECK_FALSE(is_valid_metric_name("a-b"));
  CHECK_FALSE(is_valid_metric_name("a b"));
  CHECK_FALSE(is_valid_metric_name("t\xC3\xA9"));

  CHECK(is_valid_label_name("tenant"));
  CHECK(is_valid_label_name("_x1"));
  CHECK_FALSE(is_valid_label_name(""));
  CHECK_FALSE(is_valid_label_name("__name__"));
  CHECK_FALSE(is_valid_label_name("__x"));
  CHECK_FALSE(is_valid_label_name("a:b"));
  CHECK_FALSE(is_valid_label_name("1a"));
}
