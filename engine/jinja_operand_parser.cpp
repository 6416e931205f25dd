// Operand parsing: literals, names, parenthesised tuples, lists, dicts, and the postfix
// chain that binds tighter than any operator (.attr, [index or slice], (call), | filter,
// is test), following jinja2's Parser.
#include "engine/jinja_parser.h"
#include "engine/jinja_result.h"

namespace trimserve::jinja {

Result<ExprPtr> Parser::parse_primary() {
  const Token& t = cur();
  const int line = t.line;
  switch (t.type) {
    case TokenType::kName: {
      ExprPtr node;
      if (t.value == "true" || t.value == "True") {
        node = std::make_unique<ConstExpr>(line, Value::boolean(true));
      } else if (t.value == "false" || t.value == "False") {
        node = std::make_unique<ConstExpr>(line, Value::boolean(false));
      } else if (t.value == "none" || t.value == "None") {
        node = std::make_unique<ConstExpr>(line, Value::none());
      } else {
        node = std::make_unique<NameExpr>(line, t.value);
      }
      next();
      return node;
    }
    case TokenType::kString: {
      std::string s;
      while (cur().type == TokenType::kString) {  // adjacent literals concatenate
        s += cur().value;
        next();
      }
      return ExprPtr(std::make_unique<ConstExpr>(line, Value::string(std::move(s))));
    }
    case TokenType::kInteger: {
      auto node = std::make_unique<ConstExpr>(line, Value::integer(t.int_value));
      next();
      return ExprPtr(std::move(node));
    }
    case TokenType::kFloat: {
      auto node = std::make_unique<ConstExpr>(line, Value::real(t.float_value));
      next();
      return ExprPtr(std::move(node));
    }
    default:
      break;
  }
  if (is_op("(")) {
    next();
    if (++expr_depth_ > kMaxExprDepth) return fail(cur(), "expression nested too deeply");
    auto inner = parse_tuple(false, true, {}, true);
    --expr_depth_;
    if (!inner.ok()) return inner.status();
    TS_RETURN_IF_ERROR(expect_op(")"));
    return inner;
  }
  if (is_op("[")) return parse_list();
  if (is_op("{")) return parse_dict();
  return fail(t, "unexpected " + describe(t));
}

bool Parser::is_tuple_end(const std::vector<std::string_view>& extra_end) const {
  if (cur().type == TokenType::kVariableEnd || cur().type == TokenType::kBlockEnd || is_op(")")) {
    return true;
  }
  for (std::string_view e : extra_end) {
    if (is_name(e)) return true;
  }
  return false;
}

Result<ExprPtr> Parser::parse_tuple(bool simplified, bool with_condexpr,
                                    const std::vector<std::string_view>& extra_end,
                                    bool explicit_parentheses) {
  const int line = cur().line;
  std::vector<ExprPtr> args;
  bool is_tuple = false;
  while (true) {
    if (!args.empty()) TS_RETURN_IF_ERROR(expect_op(","));
    if (is_tuple_end(extra_end)) break;
    ExprPtr e;
    if (simplified) {
      JINJA_TRY(e, parse_primary());
    } else {
      JINJA_TRY(e, parse_expression(with_condexpr));
    }
    args.push_back(std::move(e));
    if (!is_op(",")) break;
    is_tuple = true;
  }
  if (!is_tuple) {
    if (!args.empty()) return std::move(args[0]);
    if (!explicit_parentheses) return fail(cur(), "Expected an expression, got " + describe(cur()));
  }
  auto node = std::make_unique<ListExpr>(line, true);
  node->items = std::move(args);
  return seal(std::move(node));
}

Result<ExprPtr> Parser::parse_list() {
  auto node = std::make_unique<ListExpr>(cur().line, false);
  next();  // [
  while (!is_op("]")) {
    if (!node->items.empty()) TS_RETURN_IF_ERROR(expect_op(","));
    if (is_op("]")) break;
    JINJA_TRY(ExprPtr e, parse_expression());
    node->items.push_back(std::move(e));
  }
  next();  // ]
  return seal(std::move(node));
}

Result<ExprPtr> Parser::parse_dict() {
  auto node = std::make_unique<DictExpr>(cur().line);
  next();  // {
  while (!is_op("}")) {
    if (!node->items.empty()) TS_RETURN_IF_ERROR(expect_op(","));
    if (is_op("}")) break;
    JINJA_TRY(ExprPtr key, parse_expression());
    TS_RETURN_IF_ERROR(expect_op(":"));
    JINJA_TRY(ExprPtr value, parse_expression());
    node->items.emplace_back(std::move(key), std::move(value));
  }
  next();  // }
  return seal(std::move(node));
}

Result<ExprPtr> Parser::parse_postfix(ExprPtr node) {
  while (true) {
    if (is_op(".") || is_op("[")) {
      JINJA_TRY(node, parse_subscript(std::move(node)));
    } else if (is_op("(")) {
      JINJA_TRY(node, parse_call(std::move(node)));
    } else {
      return node;
    }
  }
}

Result<ExprPtr> Parser::parse_call(ExprPtr callee) {
  auto call = std::make_unique<CallExpr>(cur().line, std::move(callee));
  TS_RETURN_IF_ERROR(parse_call_args(&call->args));
  return seal(std::move(call));
}

Result<ExprPtr> Parser::parse_filter_expr(ExprPtr node) {
  while (true) {
    if (is_op("|")) {
      const int line = cur().line;
      next();
      JINJA_TRY(FilterCall f, parse_one_filter());
      JINJA_TRY(node, seal(std::make_unique<FilterExpr>(line, std::move(node), std::move(f))));
    } else if (is_name("is")) {
      JINJA_TRY(node, parse_test(std::move(node)));
    } else if (is_op("(")) {
      JINJA_TRY(node, parse_call(std::move(node)));
    } else {
      return node;
    }
  }
}

Result<ExprPtr> Parser::parse_subscript(ExprPtr node) {
  const Token tok = cur();
  next();  // . or [
  if (tok.value == ".") {
    const Token attr = cur();
    next();
    if (attr.type == TokenType::kName) {
      return seal(std::make_unique<GetattrExpr>(tok.line, std::move(node), attr.value));
    }
    if (attr.type != TokenType::kInteger) return fail(attr, "expected name or number");
    auto index = std::make_unique<ConstExpr>(attr.line, Value::integer(attr.int_value));
    return seal(std::make_unique<GetitemExpr>(tok.line, std::move(node), std::move(index)));
  }
  std::vector<ExprPtr> args;
  while (!is_op("]")) {
    if (!args.empty()) TS_RETURN_IF_ERROR(expect_op(","));
    JINJA_TRY(ExprPtr a, parse_subscribed());
    args.push_back(std::move(a));
  }
  next();  // ]
  ExprPtr index;
  if (args.size() == 1) {
    index = std::move(args[0]);
  } else {
    auto tuple = std::make_unique<ListExpr>(tok.line, true);
    tuple->items = std::move(args);
    JINJA_TRY(index, seal(std::move(tuple)));
  }
  return seal(std::make_unique<GetitemExpr>(tok.line, std::move(node), std::move(index)));
}

Result<ExprPtr> Parser::parse_subscribed() {
  const int line = cur().line;
  auto slice = std::make_unique<SliceExpr>(line);
  if (is_op(":")) {
    next();
  } else {
    JINJA_TRY(ExprPtr e, parse_expression());
    if (!is_op(":")) return e;
    next();
    slice->start = std::move(e);
  }
  if (!is_op(":") && !is_op("]") && !is_op(",")) {
    JINJA_TRY(slice->stop, parse_expression());
  }
  if (skip_op(":")) {
    if (!is_op("]") && !is_op(",")) {
      JINJA_TRY(slice->step, parse_expression());
    }
  }
  return seal(std::move(slice));
}

Status Parser::parse_call_args(CallArgs* out) {
  const Token open = cur();
  TS_RETURN_IF_ERROR(expect_op("("));
  bool require_comma = false;
  auto bad = [&]() { return fail(open, "invalid syntax for function call expression"); };
  while (!is_op(")")) {
    if (require_comma) {
      TS_RETURN_IF_ERROR(expect_op(","));
      if (is_op(")")) break;  // trailing comma
    }
    if (is_op("*")) {
      if (out->dyn_args || out->dyn_kwargs) return bad();
      next();
      JINJA_TRY(out->dyn_args, parse_expression());
    } else if (is_op("**")) {
      if (out->dyn_kwargs) return bad();
      next();
      JINJA_TRY(out->dyn_kwargs, parse_expression());
    } else if (cur().type == TokenType::kName && look().type == TokenType::kOperator &&
               look().value == "=") {
      if (out->dyn_kwargs) return bad();
      std::string key = cur().value;
      next();
      next();  // =
      JINJA_TRY(ExprPtr value, parse_expression());
      out->kwargs.emplace_back(std::move(key), std::move(value));
    } else {
      if (out->dyn_args || out->dyn_kwargs || !out->kwargs.empty()) return bad();
      JINJA_TRY(ExprPtr value, parse_expression());
      out->args.push_back(std::move(value));
    }
    require_comma = true;
  }
  next();  // )
  return Status();
}

Result<FilterCall> Parser::parse_one_filter() {
  FilterCall f;
  f.line = cur().line;
  JINJA_TRY(f.name, expect_any_name());
  while (skip_op(".")) {
    JINJA_TRY(std::string part, expect_any_name());
    f.name += "." + part;
  }
  if (is_op("(")) TS_RETURN_IF_ERROR(parse_call_args(&f.args));
  return f;
}

Result<ExprPtr> Parser::parse_test(ExprPtr node) {
  const int line = cur().line;
  next();  // is
  const bool negated = skip_name("not");
  JINJA_TRY(std::string name, expect_any_name());
  while (skip_op(".")) {
    JINJA_TRY(std::string part, expect_any_name());
    name += "." + part;
  }
  auto test = std::make_unique<TestExpr>(line, std::move(node), std::move(name));
  const TokenType t = cur().type;
  if (is_op("(")) {
    TS_RETURN_IF_ERROR(parse_call_args(&test->args));
  } else if ((t == TokenType::kName || t == TokenType::kString || t == TokenType::kInteger ||
              t == TokenType::kFloat || is_op("[") || is_op("{")) &&
             !is_name("else") && !is_name("or") && !is_name("and")) {
    if (is_name("is")) return fail(cur(), "You cannot chain multiple tests with is");
    JINJA_TRY(ExprPtr arg, parse_primary());
    JINJA_TRY(arg, parse_postfix(std::move(arg)));
    test->args.args.push_back(std::move(arg));
  }
  JINJA_TRY(ExprPtr result, seal(std::move(test)));
  if (negated) {
    JINJA_TRY(result, seal(std::make_unique<UnaryExpr>(line, UnaryOp::kNot, std::move(result))));
  }
  return result;
}


}  // namespace trimserve::jinja
