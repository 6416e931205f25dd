#include "config/units.h"

#include <catch2/catch.hpp>

#include <limits>

using namespace trimserve;

TEST_CASE("byte sizes accept plain bytes, binary and decimal units", "[config][units]") {
  CHECK(parse_byte_size("0") == 0);
  CHECK(parse_byte_size("512") == 512);
  CHECK(parse_byte_size("512B") == 512);
  CHECK(parse_byte_size("16KiB") == 16 * 1024);
  CHECK(parse_byte_size("8MiB") == 8 * 1024 * 1024);
  CHECK(parse_byte_size("2GiB") == int64_t{2} << 30);
  CHECK(parse_byte_size("1TiB") == int64_t{1} << 40);
  CHECK(parse_byte_size("4G") == int64_t{4} << 30);
  CHECK(parse_byte_size("1k") == 1024);
  CHECK(parse_byte_size("1KB") == 1000);
  CHECK(parse_byte_size("3MB") == 3000000);
  CHECK(parse_byte_size("2GB") == 2000000000);
  CHECK(parse_byte_size("1TB") == 1000000000000);
  CHECK(parse_byte_size("4gib") == int64_t{4} << 30);  // units are case-insensitive
  CHECK(parse_byte_size("1.5KiB") == 1536);
  CHECK(parse_byte_size("0.5 MiB") == 512 * 1024);
  CHECK(parse_byte_size("  2 GiB ") == int64_t{2} << 30);
  CHECK(parse_byte_size("1.0009KiB") == 1024);  // fractions of a byte round down
  CHECK(parse_byte_size("9223372036854775807") == std::numeric_limits<int64_t>::max());
}

TEST_CASE("byte sizes reject malformed, negative and overflowing values", "[config][units]") {
  for (const char* bad : {"", " ", "GiB", "-1", "-1MiB", "1 GiBs", "1 Gib x", "1..5MiB", ".5MiB",
                          "1e3", "0x10", "12 potatoes", "1  MiB", "9223372036854775808",
                          "8589934592GiB", "16777216TiB", "inf", "nan"}) {
    INFO(bad);
    CHECK_FALSE(parse_byte_size(bad).has_value());
  }
}

TEST_CASE("byte sizes format with the largest exact binary unit", "[config][units]") {
  CHECK(format_byte_size(0) == "0B");
  CHECK(format_byte_size(1000) == "1000B");
  CHECK(format_byte_size(1536) == "1536B");
  CHECK(format_byte_size(16384) == "16KiB");
  CHECK(format_byte_size(8 << 20) == "8MiB");
  CHECK(format_byte_size(int64_t{3} << 30) == "3GiB");
  CHECK(format_byte_size(int64_t{5} << 40) == "5TiB");
  for (int64_t v : {int64_t{1}, int64_t{1536}, int64_t{8} << 20, int64_t{123456789}}) {
    CHECK(parse_byte_size(format_byte_size(v)) == v);
  }
}

TEST_CASE("durations are seconds with optional ms/s/m/h units", "[config][units]") {
  CHECK(parse_duration_s("30") == 30.0);
  CHECK(parse_duration_s("0") == 0.0);
  CHECK(parse_duration_s("1.5") == 1.5);
  CHECK(parse_duration_s("1.5s") == 1.5);
  CHECK(parse_duration_s("500ms") == Approx(0.5));
  CHECK(parse_duration_s("5m") == 300.0);
  CHECK(parse_duration_s("2h") == 7200.0);
  CHECK(parse_duration_s(" 30 s ") == 30.0);
  for (const char* bad : {"", "s", "-1", "-1s", "5 min", "1d", "1H", "forever", "1e3"}) {
    INFO(bad);
    CHECK_FALSE(parse_duration_s(bad).has_value());
  }
}

TEST_CASE("percentages become fractions", "[config][units]") {
  CHECK(parse_percent("90%") == Approx(0.9));
  CHECK(parse_percent("100%") == Approx(1.0));
  CHECK(parse_percent("12.5 %") == Approx(0.125));
  CHECK(parse_percent("0%") == 0.0);
  CHECK(parse_percent("250%") == Approx(2.5));  // callers check the upper bound
  for (const char* bad : {"", "%", "90", "-5%", "1e2%", "ninety%", "90%%"}) {
    INFO(bad);
    CHECK_FALSE(parse_percent(bad).has_value());
  }
}

TEST_CASE("plain numbers and integers", "[config][units]") {
  CHECK(parse_number("0.25") == 0.25);
  CHECK(parse_number("-3") == -3.0);
  CHECK(parse_number("+7") == 7.0);
  CHECK(parse_number("1e3") == 1000.0);
  for (const char* bad : {"", "abc", "1.2.3", "0x10", "inf", "nan", "1e999", "++1", "1 2"}) {
    INFO(bad);
    CHECK_FALSE(parse_number(bad).has_value());
  }
  CHECK(parse_integer("8080") == 8080);
  CHECK(parse_integer("-12") == -12);
  CHECK(parse_integer("+7") == 7);
  CHECK(parse_integer("9223372036854775807") == std::numeric_limits<int64_t>::max());
  for (const char* bad : {"", "1.0", "1e3", "0x10", "9223372036854775808", "80 80", "http"}) {
    INFO(bad);
    CHECK_FALSE(parse_integer(bad).has_value());
  }
}
