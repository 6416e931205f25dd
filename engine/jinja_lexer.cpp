#include "engine/jinja_lexer.h"

#include <algorithm>

#include "engine/jinja_literals.h"
#include "engine/jinja_utf8.h"

namespace trimserve::jinja {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

// Operators longest first, as jinja2's operator regex orders them.
constexpr std::string_view kOperators[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/",
                                           "*",  "%",  "~",  "[",  "]",  "(",  ")", "{", "}",
                                           ">",  "<",  "=",  ".",  ":",  "|",  ",", ";"};

// Applies jinja2's newline normalisation and keep_trailing_newline=False.
std::string normalize(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else {
      out.push_back(in[i]);
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string_view source) : src_(normalize(source)) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i) {
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  Result<std::vector<Token>> run() {
    const size_t n = src_.size();
    while (pos_ < n) {
      const size_t tag = find_tag(pos_);
      if (tag == std::string::npos) {
        emit_data(pos_, src_.substr(pos_));
        pos_ = n;
        break;
      }
      TS_RETURN_IF_ERROR(lex_tag_start(tag));
    }
    Token eof;
    eof.type = TokenType::kEof;
    locate(n, &eof);
    tokens_.push_back(std::move(eof));
    return std::move(tokens_);
  }

 private:
  size_t find_tag(size_t from) const {
    while (true) {
      const size_t j = src_.find('{', from);
      if (j == std::string::npos || j + 1 >= src_.size()) return std::string::npos;
      const char c = src_[j + 1];
      if (c == '{' || c == '%' || c == '#') return j;
      from = j + 1;
    }
  }

  void locate(size_t at, Token* t) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), at);
    const size_t line = static_cast<size_t>(it - line_starts_.begin());
    t->line = static_cast<int>(line);
    t->column = static_cast<int>(at - line_starts_[line - 1] + 1);
  }

  Status error(size_t at, const std::string& what) const {
    Token t;
    locate(at, &t);
    return invalid_argument("line " + std::to_string(t.line) + ", column " +
                            std::to_string(t.column) + ": " + what);
  }

  size_t skip_space(size_t p) const {
    while (p < src_.size()) {
      size_t next = p;
      if (!py_is_space(utf8_next(src_, &next))) break;
      p = next;
    }
    return p;
  }

  bool at(size_t p, std::string_view s) const { return src_.compare(p, s.size(), s) == 0; }

  void emit(TokenType type, size_t start, std::string value) {
    Token t;
    t.type = type;
    t.value = std::move(value);
    locate(start, &t);
    tokens_.push_back(std::move(t));
  }

  void emit_data(size_t start, std::string text) {
    if (!text.empty()) emit(TokenType::kData, start, std::move(text));
  }

  // jinja2's OptionalLStrip handling of the text before a tag: `-` strips all trailing
  // whitespace; otherwise, unless `+` or a `{{`, lstrip_blocks drops the whitespace between
  // the last line start and the tag.
  std::string strip_before(std::string text, char sign, bool lstrip_allowed) const {
    if (sign == '-') return py_strip(text, nullptr, false, true);
    if (sign == '+' || !lstrip_allowed) return text;
    const size_t nl = text.rfind('\n');
    const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
    if ((l_pos > 0 || line_starting_) && l_pos < text.size() &&
        py_is_all_space(std::string_view(text).substr(l_pos))) {
      text.resize(l_pos);
    }
    return text;
  }

  Status lex_tag_start(size_t tag) {
    const char opener = src_[tag + 1];
    size_t p = tag + 2;
    char sign = 0;
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) sign = src_[p++];
    std::string text = src_.substr(pos_, tag - pos_);
    const size_t text_start = pos_;

    if (opener == '%') {
      size_t q = skip_space(p);
      if (at(q, "raw")) {
        q = skip_space(q + 3);
        size_t end = std::string::npos;
        if (at(q, "-%}")) {
          end = skip_space(q + 3);
        } else if (at(q, "%}")) {
          end = q + 2;  // no trim_blocks newline after `{% raw %}` in jinja2
        }
        if (end != std::string::npos) {
          emit_data(text_start, strip_before(std::move(text), sign, true));
          line_starting_ = src_[end - 1] == '\n';
          pos_ = end;
          return lex_raw_body();
        }
      }
    }
    emit_data(text_start, strip_before(std::move(text), sign, opener != '{'));
    line_starting_ = false;
    if (opener == '#') return lex_comment(p);
    emit(opener == '{' ? TokenType::kVariableBegin : TokenType::kBlockBegin, tag, "");
    return lex_inside_tag(p, opener == '%');
  }

  Status lex_comment(size_t p) {
    if (p >= src_.size()) {  // jinja2 quietly accepts "{#" as the very last characters
      pos_ = p;
      return Status();
    }
    const size_t hash = src_.find("#}", p);
    if (hash == std::string::npos) return error(p, "Missing end of comment tag");
    size_t end;
    if (hash > p && src_[hash - 1] == '-') {
      end = skip_space(hash + 2);
    } else if (hash > p && src_[hash - 1] == '+') {
      end = hash + 2;
    } else {
      end = hash + 2;
      if (end < src_.size() && src_[end] == '\n') ++end;
    }
    line_starting_ = src_[end - 1] == '\n';
    pos_ = end;
    return Status();
  }

  Status lex_raw_body() {
    if (pos_ >= src_.size()) return Status();  // as jinja2: "{% raw %}" ending the template
    size_t j = pos_;
    while (true) {
      j = src_.find("{%", j);
      if (j == std::string::npos) return error(pos_, "Missing end of raw directive");
      size_t q = j + 2;
      char sign = 0;
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) sign = src_[q++];
      q = skip_space(q);
      if (at(q, "endraw")) {
        q = skip_space(q + 6);
        size_t end = std::string::npos;
        if (at(q, "+%}")) {
          end = q + 3;
        } else if (at(q, "-%}")) {
          end = skip_space(q + 3);
        } else if (at(q, "%}")) {
          end = q + 2;
          if (end < src_.size() && src_[end] == '\n') ++end;
        }
        if (end != std::string::npos) {
          emit_data(pos_, strip_before(src_.substr(pos_, j - pos_), sign, true));
          line_starting_ = src_[end - 1] == '\n';
          pos_ = end;
          return Status();
        }
      }
      ++j;
    }
  }

  // Tokens between `{{`/`{%` and the matching end delimiter. End delimiters only count
  // while no bracket is open, so `{{ {'a': 1}}}` works as in jinja2.
  Status lex_inside_tag(size_t p, bool block) {
    std::vector<char> balance;
    while (true) {
      if (p >= src_.size()) {
        return error(p, std::string("unexpected end of template, expected '") +
                            (block ? "%}" : "}}") + "'");
      }
      if (balance.empty()) {
        size_t end = std::string::npos;
        if (block) {
          if (at(p, "+%}")) {
            end = p + 3;
          } else if (at(p, "-%}")) {
            end = skip_space(p + 3);
          } else if (at(p, "%}")) {
            end = p + 2;
            if (end < src_.size() && src_[end] == '\n') ++end;  // trim_blocks
          }
        } else if (at(p, "-}}")) {
          end = skip_space(p + 3);
        } else if (at(p, "}}")) {
          end = p + 2;
        }
        if (end != std::string::npos) {
          emit(block ? TokenType::kBlockEnd : TokenType::kVariableEnd, p, "");
          line_starting_ = src_[end - 1] == '\n';
          pos_ = end;
          return Status();
        }
      }
      const size_t next = skip_space(p);
      if (next != p) {
        p = next;
        continue;
      }
      const char c = src_[p];
      if (is_digit(c)) {
        TS_RETURN_IF_ERROR(lex_number(&p));
      } else if (is_name_start(c)) {
        size_t e = p + 1;
        while (e < src_.size() && is_name_char(src_[e])) ++e;
        emit(TokenType::kName, p, src_.substr(p, e - p));
        p = e;
      } else if (c == '\'' || c == '"') {
        TS_RETURN_IF_ERROR(lex_string(&p));
      } else {
        TS_RETURN_IF_ERROR(lex_operator(&p, &balance));
      }
    }
  }

  Status lex_number(size_t* p) {
    const size_t start = *p;
    Token tok;
    Status s = scan_number(src_, start, p, &tok);
    if (!s.ok()) return error(start, s.message());
    locate(start, &tok);
    tokens_.push_back(std::move(tok));
    return Status();
  }

  Status lex_string(size_t* p) {
    const size_t start = *p;
    const char quote = src_[start];
    size_t i = start + 1;
    while (i < src_.size() && src_[i] != quote) i += src_[i] == '\\' ? 2 : 1;
    if (i >= src_.size()) return error(start, "unterminated string literal");
    std::string value;
    Status s = unescape_string(std::string_view(src_).substr(start + 1, i - start - 1), &value);
    if (!s.ok()) return error(start, s.message());
    emit(TokenType::kString, start, std::move(value));
    *p = i + 1;
    return Status();
  }

  Status lex_operator(size_t* p, std::vector<char>* balance) {
    for (std::string_view op : kOperators) {
      if (!at(*p, op)) continue;
      const char c = op[0];
      if (op.size() == 1 && (c == '(' || c == '[' || c == '{')) {
        balance->push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
      } else if (op.size() == 1 && (c == ')' || c == ']' || c == '}')) {
        if (balance->empty()) return error(*p, std::string("unexpected '") + c + "'");
        if (balance->back() != c) {
          return error(*p, std::string("unexpected '") + c + "', expected '" + balance->back() + "'");
        }
        balance->pop_back();
      }
      emit(TokenType::kOperator, *p, std::string(op));
      *p += op.size();
      return Status();
    }
    size_t q = *p;
    const char32_t cp = utf8_next(src_, &q);
    std::string ch;
    utf8_append(cp, &ch);
    return error(*p, "unexpected character '" + ch + "'");
  }

  std::string src_;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  bool line_starting_ = true;
};

}  // namespace

Result<std::vector<Token>> tokenize(std::string_view source) {
  if (!utf8_valid(source)) return invalid_argument("template is not valid UTF-8");
  Lexer lexer(source);
  return lexer.run();
}

}  // namespace trimserve::jinja
