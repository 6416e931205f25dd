// Jinja lexer: template source -> tokens, reproducing jinja2's lexer (3.1) under the
// environment transformers uses for chat templates: trim_blocks=True, lstrip_blocks=True,
// keep_trailing_newline=False, default delimiters {{ }}, {% %}, {# #}.
//
// Whitespace control is resolved here, so the parser only sees final template text:
//  - "\r\n" and "\r" become "\n"; one trailing newline of the source is dropped.
//  - `{%-`, `{{-`, `{#-` strip all whitespace before the tag; `-%}`, `-}}`, `-#}` all after.
//  - trim_blocks: a single "\n" right after `%}` or `#}` is dropped (`+%}` keeps it).
//  - lstrip_blocks: spaces/tabs between the start of a line and `{%` or `{#` are dropped
//    (`{%+` keeps them); never for `{{`.
//  - `{% raw %}...{% endraw %}` yields its body as text.
// Comments produce no tokens. Pure function; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace trimserve::jinja {

enum class TokenType {
  kData,           // template text (value = text)
  kVariableBegin,  // {{
  kVariableEnd,    // }}
  kBlockBegin,     // {%
  kBlockEnd,       // %}
  kName,           // identifier, including keywords such as `if`, `and`, `true`
  kString,         // value = unescaped string
  kInteger,        // int_value
  kFloat,          // float_value
  kOperator,       // value = the operator text: + - * / // % ** ~ ( ) [ ] { } == != ...
  kEof,
};

struct Token {
  TokenType type = TokenType::kEof;
  std::string value;
  int64_t int_value = 0;
  double float_value = 0;
  int line = 1;    // 1-based
  int column = 1;  // 1-based, in bytes
};

// Tokenizes `source` (must be valid UTF-8). Errors: kInvalidArgument with
// "line L, column C: <what>" for unterminated tags, comments, strings, bad characters,
// unbalanced brackets and integers that do not fit int64.
Result<std::vector<Token>> tokenize(std::string_view source);

}  // namespace trimserve::jinja
