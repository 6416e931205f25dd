// Syntax-tree helpers.
#include "engine/jinja_ast.h"

#include <algorithm>

namespace trimserve::jinja {

namespace {

int h(const ExprPtr& e) { return e ? e->height : 0; }

int args_height(const CallArgs& a) {
  int m = std::max(h(a.dyn_args), h(a.dyn_kwargs));
  for (const auto& e : a.args) m = std::max(m, h(e));
  for (const auto& kv : a.kwargs) m = std::max(m, h(kv.second));
  return m;
}

}  // namespace

int children_height(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kList: {
      int m = 0;
      for (const auto& i : static_cast<const ListExpr&>(e).items) m = std::max(m, h(i));
      return m;
    }
    case ExprKind::kDict: {
      int m = 0;
      for (const auto& kv : static_cast<const DictExpr&>(e).items) {
        m = std::max({m, h(kv.first), h(kv.second)});
      }
      return m;
    }
    case ExprKind::kGetattr:
      return h(static_cast<const GetattrExpr&>(e).object);
    case ExprKind::kGetitem: {
      const auto& g = static_cast<const GetitemExpr&>(e);
      return std::max(h(g.object), h(g.index));
    }
    case ExprKind::kSlice: {
      const auto& s = static_cast<const SliceExpr&>(e);
      return std::max({h(s.start), h(s.stop), h(s.step)});
    }
    case ExprKind::kCall: {
      const auto& c = static_cast<const CallExpr&>(e);
      return std::max(h(c.callee), args_height(c.args));
    }
    case ExprKind::kFilter: {
      const auto& f = static_cast<const FilterExpr&>(e);
      return std::max(h(f.operand), args_height(f.filter.args));
    }
    case ExprKind::kTest: {
      const auto& t = static_cast<const TestExpr&>(e);
      return std::max(h(t.operand), args_height(t.args));
    }
    case ExprKind::kUnary:
      return h(static_cast<const UnaryExpr&>(e).operand);
    case ExprKind::kBinary: {
      const auto& b = static_cast<const BinaryExpr&>(e);
      return std::max(h(b.left), h(b.right));
    }
    case ExprKind::kConcat: {
      int m = 0;
      for (const auto& p : static_cast<const ConcatExpr&>(e).parts) m = std::max(m, h(p));
      return m;
    }
    case ExprKind::kCompare: {
      const auto& c = static_cast<const CompareExpr&>(e);
      int m = h(c.first);
      for (const auto& r : c.rest) m = std::max(m, h(r.second));
      return m;
    }
    case ExprKind::kCond: {
      const auto& c = static_cast<const CondExpr&>(e);
      return std::max({h(c.test), h(c.then_expr), h(c.else_expr)});
    }
    default:
      return 0;
  }
}


}  // namespace trimserve::jinja
