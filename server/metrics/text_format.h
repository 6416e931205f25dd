// The pieces of the Prometheus text exposition format, version 0.0.4, that the Registry
// assembles into a scrape (https://prometheus.io/docs/instrumenting/exposition_formats/):
//
//   # HELP <name> <help, escaped>
//   # TYPE <name> counter|gauge|histogram
//   <name>{<label>="<value, escaped>",...} <value>
//
// Escaping: label values escape backslash, double quote and newline (\\ \" \n); help text
// escapes backslash and newline only. The format requires UTF-8, so invalid UTF-8 in either
// (label values may echo configuration, e.g. tenant names) is replaced byte by byte with
// U+FFFD instead of making the whole scrape unparseable.
//
// Thread-safe pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace trimserve::metrics {

// The Content-Type a /metrics response carries.
inline constexpr std::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

// A sample value (or a histogram bound in le="..."): integers below 2^53 in magnitude as plain
// digits ("42", "-3"), other finite values as the shortest text that reads back to the same
// double ("0.25", "1e+20"), and "+Inf", "-Inf", "NaN" as Prometheus spells them.
std::string format_value(double v);

void append_escaped_label_value(std::string& out, std::string_view value);
void append_escaped_help(std::string& out, std::string_view help);

// One sample line, newline included: name{n1="v1",...,le="<le>"} value. `le`, when not empty,
// is appended as the last label (histogram buckets); with no labels at all the braces are
// omitted. label_names and label_values have equal sizes.
void append_sample_line(std::string& out, std::string_view name,
                        const std::vector<std::string>& label_names,
                        const std::vector<std::string>& label_values, std::string_view le,
                        std::string_view value);

}  // namespace trimserve::metrics
