// Literal scanning shared by the Jinja lexer: number and string literals with jinja2's
// (Python's) syntax. Errors carry no position; the lexer adds it. Pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"
#include "engine/jinja_lexer.h"

namespace trimserve::jinja {

// Scans the number literal at src[start] (a digit): a float (1.5, 1e3, 1_000.5) if
// jinja2's float_re matches, else an integer (decimal, 0b, 0o, 0x, with underscores).
// Fills tok's type, value (source text), int_value/float_value, and *end. Errors for
// integers beyond int64 (Python would make a big integer).
Status scan_number(std::string_view src, size_t start, size_t* end, Token* tok);

// Decodes the body of a quoted string literal as Python's "unicode-escape" codec does:
// \n \t \\ \' \" \a \b \f \r \v, octal, \xNN, \uNNNN (surrogate pairs combined), \UNNNNNNNN;
// unknown escapes stay verbatim; a backslash-newline is removed. \N{...} is an error.
Status unescape_string(std::string_view body, std::string* out);

}  // namespace trimserve::jinja
