// Expression evaluation: names, literals, attribute/item access, calls, filters, tests and
// conditionals. Operators are in jinja_operators.cpp.
#include <limits>

#include "engine/jinja_eval.h"
#include "engine/jinja_format.h"
#include "engine/jinja_result.h"

namespace trimserve::jinja {

namespace {

// Values a template builds may not nest deeper than this (JSON input is capped at 200 by
// from_json); printing, comparing and freeing values recurse over their nesting.
constexpr int kMaxValueNesting = 256;

}  // namespace

Result<std::string> Evaluator::to_str(const Value& v) {
  std::string s = py_str(v);
  TS_RETURN_IF_ERROR(st_.charge_bytes(s.size()));
  return s;
}

Result<Value> Evaluator::eval(const Expr& e, const ScopePtr& scope) {
  TS_RETURN_IF_ERROR(st_.step());
  auto r = eval_impl(e, scope);
  if (!r.ok()) return locate(r.status(), e.line);
  if (r->nesting() > kMaxValueNesting) {
    return locate(resource_exhausted("value nested too deeply"), e.line);
  }
  return r;
}

Result<Args> Evaluator::eval_args(const CallArgs& a, const ScopePtr& scope) {
  Args out;
  for (const auto& e : a.args) {
    JINJA_TRY(Value v, eval(*e, scope));
    out.positional.push_back(std::move(v));
  }
  if (a.dyn_args) {
    JINJA_TRY(Value v, eval(*a.dyn_args, scope));
    JINJA_TRY(auto items, iterate(v));
    out.positional.insert(out.positional.end(), items->begin(), items->end());
  }
  for (const auto& [key, e] : a.kwargs) {
    JINJA_TRY(Value v, eval(*e, scope));
    out.keyword.emplace_back(key, std::move(v));
  }
  if (a.dyn_kwargs) {
    JINJA_TRY(Value v, eval(*a.dyn_kwargs, scope));
    if (!v.is_dict()) return type_error("argument after ** must be a mapping");
    for (const auto& [k, val] : v.as_dict().items) {
      if (!k.is_string()) return type_error("keywords must be strings");
      out.keyword.emplace_back(k.as_string(), val);
    }
  }
  return out;
}

Result<Value> Evaluator::eval_impl(const Expr& e, const ScopePtr& scope) {
  switch (e.kind) {
    case ExprKind::kConst:
      return static_cast<const ConstExpr&>(e).value;
    case ExprKind::kName: {
      const std::string& name = static_cast<const NameExpr&>(e).name;
      if (const Value* v = scope->find(name)) return *v;
      if (const Value* g = find_global(name)) return *g;
      return Value::undefined("'" + name + "' is undefined");
    }
    case ExprKind::kList:
      return eval_list(static_cast<const ListExpr&>(e), scope);
    case ExprKind::kDict:
      return eval_dict(static_cast<const DictExpr&>(e), scope);
    case ExprKind::kGetattr: {
      const auto& g = static_cast<const GetattrExpr&>(e);
      JINJA_TRY(Value obj, eval(*g.object, scope));
      if (obj.is_undefined()) return undefined_error(obj);
      return get_attr(obj, g.name);
    }
    case ExprKind::kGetitem:
      return eval_getitem(static_cast<const GetitemExpr&>(e), scope);
    case ExprKind::kSlice:
      return internal_error("slice outside of a subscript");
    case ExprKind::kCall: {
      const auto& c = static_cast<const CallExpr&>(e);
      JINJA_TRY(Value callee, eval(*c.callee, scope));
      JINJA_TRY(Args args, eval_args(c.args, scope));
      return call(callee, args);
    }
    case ExprKind::kFilter: {
      const auto& f = static_cast<const FilterExpr&>(e);
      JINJA_TRY(Value operand, eval(*f.operand, scope));
      JINJA_TRY(Args args, eval_args(f.filter.args, scope));
      return apply_filter(*this, f.filter.name, operand, args);
    }
    case ExprKind::kTest: {
      const auto& t = static_cast<const TestExpr&>(e);
      JINJA_TRY(Value operand, eval(*t.operand, scope));
      JINJA_TRY(Args args, eval_args(t.args, scope));
      JINJA_TRY(bool r, apply_test(*this, t.name, operand, args));
      return Value::boolean(r);
    }
    case ExprKind::kUnary:
      return eval_unary(static_cast<const UnaryExpr&>(e), scope);
    case ExprKind::kBinary: {
      const auto& b = static_cast<const BinaryExpr&>(e);
      JINJA_TRY(Value left, eval(*b.left, scope));
      // and/or return an operand, as in Python.
      if (b.op == BinaryOp::kAnd) return truthy(left) ? eval(*b.right, scope) : Result<Value>(left);
      if (b.op == BinaryOp::kOr) return truthy(left) ? Result<Value>(left) : eval(*b.right, scope);
      JINJA_TRY(Value right, eval(*b.right, scope));
      return binary(b.op, left, right);
    }
    case ExprKind::kConcat: {
      std::string out;
      for (const auto& part : static_cast<const ConcatExpr&>(e).parts) {
        JINJA_TRY(Value v, eval(*part, scope));
        JINJA_TRY(std::string s, to_str(v));
        out += s;
      }
      TS_RETURN_IF_ERROR(st_.charge_bytes(out.size()));
      return Value::string(std::move(out));
    }
    case ExprKind::kCompare:
      return eval_compare(static_cast<const CompareExpr&>(e), scope);
    case ExprKind::kCond: {
      const auto& c = static_cast<const CondExpr&>(e);
      JINJA_TRY(Value test, eval(*c.test, scope));
      if (truthy(test)) return eval(*c.then_expr, scope);
      if (c.else_expr) return eval(*c.else_expr, scope);
      return Value::undefined("the inline if-expression evaluated to false and no else section was defined");
    }
  }
  return internal_error("unknown expression kind");
}

Result<Value> Evaluator::eval_list(const ListExpr& e, const ScopePtr& scope) {
  std::vector<Value> items;
  items.reserve(e.items.size());
  for (const auto& item : e.items) {
    JINJA_TRY(Value v, eval(*item, scope));
    items.push_back(std::move(v));
  }
  return Value::list(std::move(items), e.is_tuple);
}

Result<Value> Evaluator::eval_dict(const DictExpr& e, const ScopePtr& scope) {
  auto d = std::make_shared<DictData>();
  for (const auto& [ke, ve] : e.items) {
    JINJA_TRY(Value k, eval(*ke, scope));
    JINJA_TRY(Value v, eval(*ve, scope));
    if (!hashable(k)) return type_error(std::string("unhashable type: '") + type_name(k) + "'");
    d->set(std::move(k), std::move(v));
  }
  return Value::dict(std::move(d));
}

Result<Value> Evaluator::eval_getitem(const GetitemExpr& e, const ScopePtr& scope) {
  JINJA_TRY(Value obj, eval(*e.object, scope));
  if (e.index->kind == ExprKind::kSlice) {
    const auto& s = static_cast<const SliceExpr&>(*e.index);
    Value parts[3] = {Value::none(), Value::none(), Value::none()};
    const ExprPtr* exprs[3] = {&s.start, &s.stop, &s.step};
    for (int i = 0; i < 3; ++i) {
      if (*exprs[i]) {
        JINJA_TRY(parts[i], eval(**exprs[i], scope));
      }
    }
    if (obj.is_undefined()) return undefined_error(obj);
    return slice_value(obj, parts[0], parts[1], parts[2]);
  }
  JINJA_TRY(Value key, eval(*e.index, scope));
  if (obj.is_undefined()) return undefined_error(obj);
  return get_item(obj, key);
}

Result<Value> Evaluator::eval_unary(const UnaryExpr& e, const ScopePtr& scope) {
  JINJA_TRY(Value v, eval(*e.operand, scope));
  if (e.op == UnaryOp::kNot) return Value::boolean(!truthy(v));
  if (v.is_undefined()) return undefined_error(v);
  if (!v.is_number()) {
    return type_error(std::string("bad operand type for unary ") + (e.op == UnaryOp::kNeg ? "-" : "+") +
                      ": '" + type_name(v) + "'");
  }
  if (v.kind() == Kind::kFloat) return Value::real(e.op == UnaryOp::kNeg ? -v.as_double() : v.as_double());
  const int64_t i = v.as_int();
  if (e.op == UnaryOp::kPos) return Value::integer(i);
  if (i == std::numeric_limits<int64_t>::min()) return out_of_range("integer overflow");
  return Value::integer(-i);
}

Result<Value> Evaluator::eval_compare(const CompareExpr& e, const ScopePtr& scope) {
  JINJA_TRY(Value left, eval(*e.first, scope));
  for (const auto& [op, expr] : e.rest) {
    JINJA_TRY(Value right, eval(*expr, scope));
    JINJA_TRY(bool ok, compare_op(op, left, right));
    if (!ok) return Value::boolean(false);  // chained comparisons short-circuit
    left = std::move(right);
  }
  return Value::boolean(true);
}

Result<Value> Evaluator::call(const Value& callee, const Args& args) {
  if (callee.is_undefined()) return undefined_error(callee);
  if (callee.kind() != Kind::kCallable) {
    return type_error(std::string("'") + type_name(callee) + "' object is not callable");
  }
  const Callable& c = callee.as_callable();
  switch (c.type) {
    case Callable::Type::kGlobal:
      return call_global(*this, c, args);
    case Callable::Type::kMethod:
      return call_method(*this, c, args);
    case Callable::Type::kMacro: {
      std::string out;
      TS_RETURN_IF_ERROR(exec_macro_call(c, args, &out));
      return Value::string(std::move(out));
    }
  }
  return internal_error("unknown callable");
}

}  // namespace trimserve::jinja
