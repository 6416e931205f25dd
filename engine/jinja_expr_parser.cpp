// Expression parsing: jinja2's precedence climbing, lowest to highest binding:
//   a if c else b  <  or  <  and  <  not  <  comparisons/in  <  + -  <  ~  <  * / // %
//   <  **  <  unary - +  <  operands (jinja_operand_parser.cpp).
#include "engine/jinja_parser.h"
#include "engine/jinja_result.h"

namespace trimserve::jinja {

Result<ExprPtr> Parser::seal(ExprPtr e) {
  e->height = 1 + children_height(*e);
  if (e->height > kMaxExprHeight) return fail(cur(), "expression nested too deeply");
  return e;
}

Result<ExprPtr> Parser::parse_expression(bool with_condexpr) {
  if (++expr_depth_ > kMaxExprDepth) {
    --expr_depth_;
    return fail(cur(), "expression nested too deeply");
  }
  auto r = with_condexpr ? parse_condexpr() : parse_or();
  --expr_depth_;
  return r;
}

Result<ExprPtr> Parser::parse_condexpr() {
  int line = cur().line;
  JINJA_TRY(ExprPtr expr1, parse_or());
  while (skip_name("if")) {
    auto node = std::make_unique<CondExpr>(line);
    JINJA_TRY(node->test, parse_or());
    if (skip_name("else")) {
      JINJA_TRY(node->else_expr, parse_condexpr());
    }
    node->then_expr = std::move(expr1);
    JINJA_TRY(expr1, seal(std::move(node)));
    line = cur().line;
  }
  return expr1;
}

Result<ExprPtr> Parser::parse_or() {
  JINJA_TRY(ExprPtr left, parse_and());
  while (is_name("or")) {
    const int line = cur().line;
    next();
    JINJA_TRY(ExprPtr right, parse_and());
    JINJA_TRY(left, seal(std::make_unique<BinaryExpr>(line, BinaryOp::kOr, std::move(left), std::move(right))));
  }
  return left;
}

Result<ExprPtr> Parser::parse_and() {
  JINJA_TRY(ExprPtr left, parse_not());
  while (is_name("and")) {
    const int line = cur().line;
    next();
    JINJA_TRY(ExprPtr right, parse_not());
    JINJA_TRY(left, seal(std::make_unique<BinaryExpr>(line, BinaryOp::kAnd, std::move(left), std::move(right))));
  }
  return left;
}

Result<ExprPtr> Parser::parse_not() {
  if (is_name("not")) {
    const int line = cur().line;
    next();
    if (++expr_depth_ > kMaxExprDepth) return fail(cur(), "expression nested too deeply");
    auto operand = parse_not();
    --expr_depth_;
    if (!operand.ok()) return operand.status();
    return seal(std::make_unique<UnaryExpr>(line, UnaryOp::kNot, std::move(operand).value()));
  }
  return parse_compare();
}

Result<ExprPtr> Parser::parse_compare() {
  const int line = cur().line;
  JINJA_TRY(ExprPtr expr, parse_math1());
  std::unique_ptr<CompareExpr> cmp;
  while (true) {
    CompareOp op;
    if (is_op("==")) {
      op = CompareOp::kEq;
    } else if (is_op("!=")) {
      op = CompareOp::kNe;
    } else if (is_op("<")) {
      op = CompareOp::kLt;
    } else if (is_op("<=")) {
      op = CompareOp::kLe;
    } else if (is_op(">")) {
      op = CompareOp::kGt;
    } else if (is_op(">=")) {
      op = CompareOp::kGe;
    } else if (is_name("in")) {
      op = CompareOp::kIn;
    } else if (is_name("not") && look().type == TokenType::kName && look().value == "in") {
      op = CompareOp::kNotIn;
      next();
    } else {
      break;
    }
    next();
    JINJA_TRY(ExprPtr rhs, parse_math1());
    if (!cmp) cmp = std::make_unique<CompareExpr>(line, std::move(expr));
    cmp->rest.emplace_back(op, std::move(rhs));
  }
  if (!cmp) return expr;
  return seal(std::move(cmp));
}

Result<ExprPtr> Parser::parse_math1() {
  JINJA_TRY(ExprPtr left, parse_concat());
  while (is_op("+") || is_op("-")) {
    const BinaryOp op = is_op("+") ? BinaryOp::kAdd : BinaryOp::kSub;
    const int line = cur().line;
    next();
    JINJA_TRY(ExprPtr right, parse_concat());
    JINJA_TRY(left, seal(std::make_unique<BinaryExpr>(line, op, std::move(left), std::move(right))));
  }
  return left;
}

Result<ExprPtr> Parser::parse_concat() {
  const int line = cur().line;
  JINJA_TRY(ExprPtr first, parse_math2());
  if (!is_op("~")) return first;
  auto node = std::make_unique<ConcatExpr>(line);
  node->parts.push_back(std::move(first));
  while (skip_op("~")) {
    JINJA_TRY(ExprPtr part, parse_math2());
    node->parts.push_back(std::move(part));
  }
  return seal(std::move(node));
}

Result<ExprPtr> Parser::parse_math2() {
  JINJA_TRY(ExprPtr left, parse_pow());
  while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
    const BinaryOp op = is_op("*")    ? BinaryOp::kMul
                        : is_op("/")  ? BinaryOp::kDiv
                        : is_op("//") ? BinaryOp::kFloorDiv
                                      : BinaryOp::kMod;
    const int line = cur().line;
    next();
    JINJA_TRY(ExprPtr right, parse_pow());
    JINJA_TRY(left, seal(std::make_unique<BinaryExpr>(line, op, std::move(left), std::move(right))));
  }
  return left;
}

Result<ExprPtr> Parser::parse_pow() {
  JINJA_TRY(ExprPtr left, parse_unary());
  while (is_op("**")) {
    const int line = cur().line;
    next();
    JINJA_TRY(ExprPtr right, parse_unary());
    JINJA_TRY(left, seal(std::make_unique<BinaryExpr>(line, BinaryOp::kPow, std::move(left), std::move(right))));
  }
  return left;
}

Result<ExprPtr> Parser::parse_unary(bool with_filter) {
  const int line = cur().line;
  ExprPtr node;
  if (is_op("-") || is_op("+")) {
    const UnaryOp op = is_op("-") ? UnaryOp::kNeg : UnaryOp::kPos;
    next();
    if (++expr_depth_ > kMaxExprDepth) return fail(cur(), "expression nested too deeply");
    auto operand = parse_unary(false);
    --expr_depth_;
    if (!operand.ok()) return operand.status();
    JINJA_TRY(node, seal(std::make_unique<UnaryExpr>(line, op, std::move(operand).value())));
  } else {
    JINJA_TRY(node, parse_primary());
  }
  JINJA_TRY(node, parse_postfix(std::move(node)));
  if (with_filter) {
    JINJA_TRY(node, parse_filter_expr(std::move(node)));
  }
  return node;
}


}  // namespace trimserve::jinja
