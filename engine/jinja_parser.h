// Jinja parser: tokens -> syntax tree, following jinja2's Parser (3.1) grammar and operator
// precedence, with the statement set transformers enables for chat templates (core tags
// plus loopcontrols' break/continue and AssistantTracker's {% generation %}).
//
// Supported tags: if/elif/else, for (tuple targets, `if` filter, else), set (incl.
// namespace attributes and block set with filters), macro, with, filter, print, break,
// continue, generation, raw (in the lexer). Not supported (syntax error naming the tag):
// call, block, extends, include, import, from, autoescape, recursive loops.
//
// Nesting is capped (statements 64 deep, expression trees 128 high) so that parsing,
// evaluating and destroying a tree can never exhaust the stack.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/jinja_ast.h"
#include "engine/jinja_lexer.h"

namespace trimserve::jinja {

// Parses a whole template. Errors: kInvalidArgument "line L, column C: <what>".
Result<Body> parse_template(std::string_view source);

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}
  Result<Body> parse_all();

 private:
  // ---- token stream (jinja_parser.cpp) ----
  const Token& cur() const { return tokens_[pos_]; }
  const Token& look() const { return tokens_[pos_ + 1 < tokens_.size() ? pos_ + 1 : pos_]; }
  void next() {
    if (pos_ + 1 < tokens_.size()) ++pos_;
  }
  bool is_name(std::string_view v) const;
  bool is_op(std::string_view op) const;
  bool skip_name(std::string_view v);
  bool skip_op(std::string_view op);
  Status expect_op(std::string_view op);
  Status expect_name(std::string_view v);
  Result<std::string> expect_any_name();
  Status expect_type(TokenType type, const char* what);
  Status fail(const Token& at, const std::string& msg) const;
  static std::string describe(const Token& t);

  // ---- statements (jinja_parser.cpp) ----
  Status subparse(Body* out, const std::vector<std::string_view>& end_tokens);
  Status parse_statements(Body* out, const std::vector<std::string_view>& end_tokens,
                          bool drop_needle);
  Status parse_statement(Body* out);
  Status parse_if(Body* out);
  Status parse_for(Body* out);
  Status parse_set(Body* out);
  Status parse_macro(Body* out);
  Status parse_with(Body* out);
  Status parse_filter_block(Body* out);
  Status parse_print(Body* out);
  Result<Target> parse_assign_target(bool with_tuple, bool name_only,
                                     const std::vector<std::string_view>& extra_end,
                                     bool with_namespace);
  Result<Target> to_target(const Expr& e) const;

  // ---- operators (jinja_expr_parser.cpp) ----
  Result<ExprPtr> parse_expression(bool with_condexpr = true);
  Result<ExprPtr> parse_condexpr();
  Result<ExprPtr> parse_or();
  Result<ExprPtr> parse_and();
  Result<ExprPtr> parse_not();
  Result<ExprPtr> parse_compare();
  Result<ExprPtr> parse_math1();
  Result<ExprPtr> parse_concat();
  Result<ExprPtr> parse_math2();
  Result<ExprPtr> parse_pow();
  Result<ExprPtr> parse_unary(bool with_filter = true);
  // Records the node's height and rejects trees past the cap.
  Result<ExprPtr> seal(ExprPtr e);

  // ---- operands and postfix chains (jinja_operand_parser.cpp) ----
  Result<ExprPtr> parse_primary();
  Result<ExprPtr> parse_tuple(bool simplified, bool with_condexpr,
                              const std::vector<std::string_view>& extra_end,
                              bool explicit_parentheses);
  bool is_tuple_end(const std::vector<std::string_view>& extra_end) const;
  Result<ExprPtr> parse_list();
  Result<ExprPtr> parse_dict();
  Result<ExprPtr> parse_postfix(ExprPtr node);
  Result<ExprPtr> parse_filter_expr(ExprPtr node);
  // `callee(args...)` at the current "(" token.
  Result<ExprPtr> parse_call(ExprPtr callee);
  Result<ExprPtr> parse_subscript(ExprPtr node);
  Result<ExprPtr> parse_subscribed();
  Status parse_call_args(CallArgs* out);
  Result<FilterCall> parse_one_filter();
  Result<ExprPtr> parse_test(ExprPtr node);

  static constexpr int kMaxStmtDepth = 64;   // nested statements
  static constexpr int kMaxExprHeight = 128; // expression tree height
  static constexpr int kMaxExprDepth = 64;   // parser recursion through brackets / unary ops

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int stmt_depth_ = 0;
  int expr_depth_ = 0;
  int loop_depth_ = 0;
};

}  // namespace trimserve::jinja
