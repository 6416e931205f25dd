// Statement parsing and the token stream; expressions are in jinja_expr_parser.cpp.
#include "engine/jinja_parser.h"

#include "engine/jinja_result.h"

namespace trimserve::jinja {

namespace {

// Tags jinja2 knows that this interpreter does not implement: rejecting them at parse
// time gives a clear message instead of "unknown tag".
bool is_unsupported_tag(const std::string& v) {
  return v == "call" || v == "block" || v == "extends" || v == "include" || v == "import" ||
         v == "from" || v == "autoescape" || v == "do";
}

}  // namespace

Result<Body> parse_template(std::string_view source) {
  JINJA_TRY(std::vector<Token> tokens, tokenize(source));
  Parser parser(std::move(tokens));
  return parser.parse_all();
}

Result<Body> Parser::parse_all() {
  Body body;
  TS_RETURN_IF_ERROR(subparse(&body, {}));
  if (cur().type != TokenType::kEof) return fail(cur(), "unexpected " + describe(cur()));
  return body;
}

// ---- token stream ----

bool Parser::is_name(std::string_view v) const {
  return cur().type == TokenType::kName && cur().value == v;
}
bool Parser::is_op(std::string_view op) const {
  return cur().type == TokenType::kOperator && cur().value == op;
}
bool Parser::skip_name(std::string_view v) {
  if (!is_name(v)) return false;
  next();
  return true;
}
bool Parser::skip_op(std::string_view op) {
  if (!is_op(op)) return false;
  next();
  return true;
}
Status Parser::expect_op(std::string_view op) {
  if (skip_op(op)) return Status();
  return fail(cur(), "expected '" + std::string(op) + "', got " + describe(cur()));
}
Status Parser::expect_name(std::string_view v) {
  if (skip_name(v)) return Status();
  return fail(cur(), "expected '" + std::string(v) + "', got " + describe(cur()));
}
Result<std::string> Parser::expect_any_name() {
  if (cur().type != TokenType::kName) return fail(cur(), "expected a name, got " + describe(cur()));
  std::string v = cur().value;
  next();
  return v;
}
Status Parser::expect_type(TokenType type, const char* what) {
  if (cur().type == type) {
    next();
    return Status();
  }
  return fail(cur(), std::string("expected ") + what + ", got " + describe(cur()));
}

Status Parser::fail(const Token& at, const std::string& msg) const {
  return invalid_argument("line " + std::to_string(at.line) + ", column " +
                          std::to_string(at.column) + ": " + msg);
}

std::string Parser::describe(const Token& t) {
  switch (t.type) {
    case TokenType::kData:
      return "template data";
    case TokenType::kVariableBegin:
      return "'{{'";
    case TokenType::kVariableEnd:
      return "end of print statement '}}'";
    case TokenType::kBlockBegin:
      return "'{%'";
    case TokenType::kBlockEnd:
      return "end of statement block '%}'";
    case TokenType::kEof:
      return "end of template";
    case TokenType::kString:
      return "string";
    case TokenType::kInteger:
    case TokenType::kFloat:
      return "number '" + t.value + "'";
    default:
      return "'" + t.value + "'";
  }
}

// ---- statements ----

Status Parser::subparse(Body* out, const std::vector<std::string_view>& end_tokens) {
  while (cur().type != TokenType::kEof) {
    const Token& t = cur();
    if (t.type == TokenType::kData) {
      out->push_back(std::make_unique<TextStmt>(t.line, t.value));
      next();
    } else if (t.type == TokenType::kVariableBegin) {
      const int line = t.line;
      next();
      JINJA_TRY(ExprPtr e, parse_tuple(false, true, {}, false));
      TS_RETURN_IF_ERROR(expect_type(TokenType::kVariableEnd, "end of print statement '}}'"));
      out->push_back(std::make_unique<OutputStmt>(line, std::move(e)));
    } else if (t.type == TokenType::kBlockBegin) {
      next();
      for (std::string_view end : end_tokens) {
        if (is_name(end)) return Status();
      }
      TS_RETURN_IF_ERROR(parse_statement(out));
      TS_RETURN_IF_ERROR(expect_type(TokenType::kBlockEnd, "end of statement block '%}'"));
    } else {
      return fail(t, "unexpected " + describe(t));
    }
  }
  return Status();
}

Status Parser::parse_statements(Body* out, const std::vector<std::string_view>& end_tokens,
                                bool drop_needle) {
  skip_op(":");
  TS_RETURN_IF_ERROR(expect_type(TokenType::kBlockEnd, "end of statement block '%}'"));
  TS_RETURN_IF_ERROR(subparse(out, end_tokens));
  if (cur().type == TokenType::kEof) {
    std::string wanted;
    for (std::string_view e : end_tokens) {
      wanted += (wanted.empty() ? "'" : " or '") + std::string(e) + "'";
    }
    return fail(cur(), "unexpected end of template; looking for " + wanted);
  }
  if (drop_needle) next();
  return Status();
}

Status Parser::parse_statement(Body* out) {
  const Token& t = cur();
  if (t.type != TokenType::kName) return fail(t, "tag name expected");
  if (++stmt_depth_ > kMaxStmtDepth) return fail(t, "statements nested too deeply");
  struct Guard {
    int* d;
    ~Guard() { --*d; }
  } guard{&stmt_depth_};
  const std::string& v = t.value;
  if (v == "if") return parse_if(out);
  if (v == "for") return parse_for(out);
  if (v == "set") return parse_set(out);
  if (v == "macro") return parse_macro(out);
  if (v == "with") return parse_with(out);
  if (v == "filter") return parse_filter_block(out);
  if (v == "print") return parse_print(out);
  if (v == "break" || v == "continue") {
    if (loop_depth_ == 0) return fail(t, "'" + v + "' outside of a loop");
    out->push_back(std::make_unique<ScopeStmt>(
        v == "break" ? StmtKind::kBreak : StmtKind::kContinue, t.line));
    next();
    return Status();
  }
  if (v == "generation") {
    // transformers renders the body through a call block: a function, so it has its own
    // scope and break/continue cannot reach an enclosing loop.
    auto s = std::make_unique<ScopeStmt>(StmtKind::kScope, t.line);
    next();
    const int saved_loops = loop_depth_;
    loop_depth_ = 0;
    Status st = parse_statements(&s->body, {"endgeneration"}, true);
    loop_depth_ = saved_loops;
    TS_RETURN_IF_ERROR(st);
    out->push_back(std::move(s));
    return Status();
  }
  if (is_unsupported_tag(v)) return fail(t, "tag '" + v + "' is not supported");
  return fail(t, "Encountered unknown tag '" + v + "'");
}

Status Parser::parse_if(Body* out) {
  auto node = std::make_unique<IfStmt>(cur().line);
  next();  // if
  while (true) {
    JINJA_TRY(ExprPtr test, parse_tuple(false, false, {}, false));
    Body body;
    TS_RETURN_IF_ERROR(parse_statements(&body, {"elif", "else", "endif"}, false));
    node->branches.emplace_back(std::move(test), std::move(body));
    const std::string tag = cur().value;
    next();
    if (tag == "elif") continue;
    if (tag == "else") TS_RETURN_IF_ERROR(parse_statements(&node->else_body, {"endif"}, true));
    break;
  }
  out->push_back(std::move(node));
  return Status();
}

Status Parser::parse_for(Body* out) {
  auto node = std::make_unique<ForStmt>(cur().line);
  next();  // for
  JINJA_TRY(node->target, parse_assign_target(true, false, {"in"}, false));
  TS_RETURN_IF_ERROR(expect_name("in"));
  JINJA_TRY(node->iter, parse_tuple(false, false, {"recursive"}, false));
  if (skip_name("if")) {
    JINJA_TRY(node->filter, parse_expression());
  }
  if (is_name("recursive")) return fail(cur(), "recursive loops are not supported");
  ++loop_depth_;
  Status s = parse_statements(&node->body, {"endfor", "else"}, false);
  --loop_depth_;
  TS_RETURN_IF_ERROR(s);
  const std::string tag = cur().value;
  next();
  if (tag == "else") TS_RETURN_IF_ERROR(parse_statements(&node->else_body, {"endfor"}, true));
  out->push_back(std::move(node));
  return Status();
}

Status Parser::parse_set(Body* out) {
  const int line = cur().line;
  next();  // set
  JINJA_TRY(Target target, parse_assign_target(true, false, {}, true));
  if (skip_op("=")) {
    auto node = std::make_unique<SetStmt>(line);
    node->target = std::move(target);
    JINJA_TRY(node->value, parse_tuple(false, true, {}, false));
    out->push_back(std::move(node));
    return Status();
  }
  auto node = std::make_unique<SetBlockStmt>(line);
  node->target = std::move(target);
  while (skip_op("|")) {
    JINJA_TRY(FilterCall f, parse_one_filter());
    node->filters.push_back(std::move(f));
  }
  TS_RETURN_IF_ERROR(parse_statements(&node->body, {"endset"}, true));
  out->push_back(std::move(node));
  return Status();
}

Status Parser::parse_macro(Body* out) {
  auto node = std::make_unique<MacroStmt>(cur().line);
  next();  // macro
  JINJA_TRY(node->name, expect_any_name());
  TS_RETURN_IF_ERROR(expect_op("("));
  while (!is_op(")")) {
    if (!node->params.empty()) TS_RETURN_IF_ERROR(expect_op(","));
    JINJA_TRY(std::string param, expect_any_name());
    if (skip_op("=")) {
      JINJA_TRY(ExprPtr d, parse_expression());
      node->defaults.push_back(std::move(d));
    } else if (!node->defaults.empty()) {
      return fail(cur(), "non-default argument follows default argument");
    }
    node->params.push_back(std::move(param));
  }
  next();  // )
  const int saved_loops = loop_depth_;
  loop_depth_ = 0;  // break/continue cannot cross a macro boundary
  Status s = parse_statements(&node->body, {"endmacro"}, true);
  loop_depth_ = saved_loops;
  TS_RETURN_IF_ERROR(s);
  out->push_back(std::move(node));
  return Status();
}

Status Parser::parse_with(Body* out) {
  auto node = std::make_unique<WithStmt>(cur().line);
  next();  // with
  while (cur().type != TokenType::kBlockEnd) {
    if (!node->assignments.empty()) TS_RETURN_IF_ERROR(expect_op(","));
    JINJA_TRY(Target target, parse_assign_target(true, false, {}, false));
    TS_RETURN_IF_ERROR(expect_op("="));
    JINJA_TRY(ExprPtr value, parse_expression());
    node->assignments.emplace_back(std::move(target), std::move(value));
  }
  TS_RETURN_IF_ERROR(parse_statements(&node->body, {"endwith"}, true));
  out->push_back(std::move(node));
  return Status();
}

Status Parser::parse_filter_block(Body* out) {
  auto node = std::make_unique<FilterBlockStmt>(cur().line);
  next();  // filter
  do {
    JINJA_TRY(FilterCall f, parse_one_filter());
    node->filters.push_back(std::move(f));
  } while (skip_op("|"));
  TS_RETURN_IF_ERROR(parse_statements(&node->body, {"endfilter"}, true));
  out->push_back(std::move(node));
  return Status();
}

Status Parser::parse_print(Body* out) {
  const int line = cur().line;
  next();  // print
  bool first = true;
  while (cur().type != TokenType::kBlockEnd) {
    if (!first) TS_RETURN_IF_ERROR(expect_op(","));
    first = false;
    JINJA_TRY(ExprPtr e, parse_expression());
    out->push_back(std::make_unique<OutputStmt>(line, std::move(e)));
  }
  return Status();
}

Result<Target> Parser::parse_assign_target(bool with_tuple, bool name_only,
                                           const std::vector<std::string_view>& extra_end,
                                           bool with_namespace) {
  if (with_namespace && cur().type == TokenType::kName && look().type == TokenType::kOperator &&
      look().value == ".") {
    Target t;
    t.type = Target::Type::kNamespaceAttr;
    t.name = cur().value;
    next();
    next();  // .
    JINJA_TRY(t.attr, expect_any_name());
    return t;
  }
  if (name_only) {
    Target t;
    JINJA_TRY(t.name, expect_any_name());
    return t;
  }
  const Token at = cur();
  ExprPtr e;
  if (with_tuple) {
    JINJA_TRY(e, parse_tuple(true, true, extra_end, false));
  } else {
    JINJA_TRY(e, parse_primary());
  }
  auto t = to_target(*e);
  if (!t.ok()) return fail(at, t.status().message());
  return t;
}

Result<Target> Parser::to_target(const Expr& e) const {
  Target t;
  if (e.kind == ExprKind::kName) {
    t.name = static_cast<const NameExpr&>(e).name;
    return t;
  }
  if (e.kind == ExprKind::kList && static_cast<const ListExpr&>(e).is_tuple) {
    t.type = Target::Type::kTuple;
    for (const auto& item : static_cast<const ListExpr&>(e).items) {
      JINJA_TRY(Target sub, to_target(*item));
      t.items.push_back(std::move(sub));
    }
    return t;
  }
  return invalid_argument(e.kind == ExprKind::kConst ? "can't assign to const"
                                                     : "can't assign to this expression");
}

}  // namespace trimserve::jinja
