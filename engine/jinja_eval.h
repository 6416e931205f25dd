// Evaluator: walks the syntax tree for one render. Statements are in jinja_eval.cpp,
// expressions in jinja_expr_eval.cpp, operators in jinja_operators.cpp.
//
// Scoping follows jinja2: a `for` iteration, a macro call and a `with` block get a child
// scope (so `set` inside them does not leak out, which is why templates use namespace());
// `if` bodies write to the enclosing scope. Not thread-safe; one per render.
#pragma once

#include <string>

#include "common/status.h"
#include "engine/jinja_ast.h"
#include "engine/jinja_runtime.h"

namespace trimserve::jinja {

enum class Flow { kNormal, kBreak, kContinue };

class Evaluator {
 public:
  explicit Evaluator(RenderState& state) : st_(state) {}

  RenderState& state() { return st_; }

  // Runs statements; *flow reports a pending break/continue to the enclosing loop.
  Status exec(const Body& body, const ScopePtr& scope, Flow* flow);

  Result<Value> eval(const Expr& e, const ScopePtr& scope);

  // Python operators on values (also used by filters such as sum and sort).
  Result<Value> binary(BinaryOp op, const Value& a, const Value& b);
  Result<bool> compare_op(CompareOp op, const Value& a, const Value& b);
  Result<Value> call(const Value& callee, const Args& args);

  // str(v) with the cost charged to the render.
  Result<std::string> to_str(const Value& v);

 private:
  Status exec_one(const Stmt& s, const ScopePtr& scope, Flow* flow);
  Status exec_for(const ForStmt& s, const ScopePtr& scope);
  Status exec_set(const Target& target, Value value, const ScopePtr& scope, int line);
  Status exec_macro_call(const Callable& macro, const Args& args, std::string* out);
  Status capture(const Body& body, const ScopePtr& scope, std::string* out);
  Result<Value> apply_filters(const std::vector<FilterCall>& filters, Value v,
                              const ScopePtr& scope);

  Result<Value> eval_impl(const Expr& e, const ScopePtr& scope);
  Result<Args> eval_args(const CallArgs& a, const ScopePtr& scope);
  Result<Value> eval_getitem(const GetitemExpr& e, const ScopePtr& scope);
  Result<Value> eval_list(const ListExpr& e, const ScopePtr& scope);
  Result<Value> eval_dict(const DictExpr& e, const ScopePtr& scope);
  Result<Value> eval_compare(const CompareExpr& e, const ScopePtr& scope);
  Result<Value> eval_unary(const UnaryExpr& e, const ScopePtr& scope);

  // Prefixes "line N: " to the first error leaving a node.
  Status locate(Status s, int line);

  RenderState& st_;
  int eval_depth_ = 0;
};

// Python slicing of lists, tuples and strings (code points).
Result<Value> slice_value(const Value& v, const Value& start, const Value& stop,
                          const Value& step);

}  // namespace trimserve::jinja
