// Tests (`value is name(args)`), following jinja2 3.1's builtin tests. Python's type model
// shows through: bool is a number, Undefined is iterable, dicts are sequences.
#include <cmath>

#include "engine/jinja_eval.h"
#include "engine/jinja_result.h"
#include "engine/jinja_utf8.h"

namespace trimserve::jinja {

namespace {

Result<Value> one_arg(const std::string& name, const Args& a) {
  JINJA_TRY(auto p, bind_args(name, a, {"other"}));
  if (!p[0]) return type_error("test '" + name + "' needs an argument");
  return *p[0];
}

Result<bool> modulo_is_zero(Evaluator& ev, const Value& v, const Value& d) {
  JINJA_TRY(Value r, ev.binary(BinaryOp::kMod, v, d));
  return equals(r, Value::integer(0));
}

}  // namespace

Result<bool> apply_test(Evaluator& ev, const std::string& name, const Value& v, const Args& a) {
  TS_RETURN_IF_ERROR(ev.state().step());
  const Kind k = v.kind();
  if (name == "defined") return k != Kind::kUndefined;
  if (name == "undefined") return k == Kind::kUndefined;
  if (name == "none") return k == Kind::kNone;
  if (name == "boolean") return k == Kind::kBool;
  if (name == "true") return k == Kind::kBool && v.as_bool();
  if (name == "false") return k == Kind::kBool && !v.as_bool();
  if (name == "integer") return k == Kind::kInt;
  if (name == "float") return k == Kind::kFloat;
  if (name == "number") return v.is_number();
  if (name == "string") return k == Kind::kString;
  if (name == "mapping") return k == Kind::kDict;
  if (name == "iterable") {
    return k == Kind::kString || k == Kind::kList || k == Kind::kDict || k == Kind::kUndefined;
  }
  if (name == "sequence") {
    return k == Kind::kString || (k == Kind::kList && v.as_list_data().is_plain()) ||
           k == Kind::kDict || k == Kind::kUndefined;
  }
  if (name == "callable") return k == Kind::kCallable || k == Kind::kUndefined;
  if (name == "escaped") return false;
  if (name == "lower" || name == "upper") {
    JINJA_TRY(std::string s, ev.to_str(v));
    return name == "lower" ? py_is_lower(s) : py_is_upper(s);
  }
  if (name == "odd" || name == "even") {  // value % 2 == 1 / == 0, so -1.5 is neither
    JINJA_TRY(Value r, ev.binary(BinaryOp::kMod, v, Value::integer(2)));
    return equals(r, Value::integer(name == "even" ? 0 : 1));
  }
  if (name == "divisibleby") {
    JINJA_TRY(Value d, one_arg(name, a));
    return modulo_is_zero(ev, v, d);
  }
  if (name == "sameas") {
    JINJA_TRY(Value other, one_arg(name, a));
    if (v.kind() != other.kind()) return false;
    if (v.identity() != nullptr) return v.identity() == other.identity();
    return equals(v, other);  // None, booleans and small numbers are singletons in CPython
  }
  if (name == "in") {
    JINJA_TRY(Value seq, one_arg(name, a));
    return ev.compare_op(CompareOp::kIn, v, seq);
  }
  struct Cmp {
    const char* names[3];
    CompareOp op;
  };
  static const Cmp kComparisons[] = {
      {{"eq", "equalto", "=="}, CompareOp::kEq}, {{"ne", "!=", nullptr}, CompareOp::kNe},
      {{"lt", "lessthan", "<"}, CompareOp::kLt}, {{"le", "<=", nullptr}, CompareOp::kLe},
      {{"gt", "greaterthan", ">"}, CompareOp::kGt}, {{"ge", ">=", nullptr}, CompareOp::kGe}};
  for (const auto& c : kComparisons) {
    for (const char* n : c.names) {
      if (n != nullptr && name == n) {
        JINJA_TRY(Value other, one_arg(name, a));
        return ev.compare_op(c.op, v, other);
      }
    }
  }
  if (name == "filter" || name == "test") {
    // Whether a filter/test of that name exists: probe the dispatchers with a name only.
    if (!v.is_string()) return false;
    static const char* kFilters[] = {"abs", "attr", "batch", "capitalize", "count", "d", "default",
                                     "dictsort", "e", "escape", "first", "float", "format", "indent", "int",
                                     "items", "join", "last", "length", "list", "lower", "map",
                                     "max", "min", "reject", "rejectattr", "replace", "reverse",
                                     "round", "safe", "select", "selectattr", "sort", "string",
                                     "sum", "title", "tojson", "trim", "unique", "upper"};
    static const char* kTests[] = {"defined", "undefined", "none", "boolean", "true", "false",
                                   "integer", "float", "number", "string", "mapping", "iterable",
                                   "sequence", "callable", "escaped", "lower", "upper", "odd",
                                   "even", "divisibleby", "sameas", "in", "eq", "equalto", "ne",
                                   "lt", "lessthan", "le", "gt", "greaterthan", "ge", "filter", "test"};
    if (name == "filter") {
      for (const char* f : kFilters) {
        if (v.as_string() == f) return true;
      }
      return false;
    }
    for (const char* t : kTests) {
      if (v.as_string() == t) return true;
    }
    return false;
  }
  return invalid_argument("No test named '" + name + "'.");
}

}  // namespace trimserve::jinja
