// Python operator semantics on Values: arithmetic with int64 overflow checks, string and
// list concatenation/repetition, comparisons, membership, printf-style `%`, and slicing.
#include <cmath>
#include <limits>

#include "engine/jinja_eval.h"
#include "engine/jinja_format.h"
#include "engine/jinja_result.h"
#include "engine/jinja_utf8.h"

namespace trimserve::jinja {

namespace {

Status unsupported_operands(const char* op, const Value& a, const Value& b) {
  return type_error(std::string("unsupported operand type(s) for ") + op + ": '" + type_name(a) +
                    "' and '" + type_name(b) + "'");
}

Status overflow() { return out_of_range("integer overflow (Python big integers are not supported)"); }

enum class IntOp { kAdd, kSub, kMul };

Result<int64_t> checked(IntOp op, int64_t a, int64_t b) {
  int64_t r = 0;
  const bool bad = op == IntOp::kAdd   ? __builtin_add_overflow(a, b, &r)
                   : op == IntOp::kSub ? __builtin_sub_overflow(a, b, &r)
                                       : __builtin_mul_overflow(a, b, &r);
  if (bad) return overflow();
  return r;
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

Result<Value> repeat(RenderState& st, const Value& seq, int64_t n) {
  if (n < 0) n = 0;
  if (seq.is_string()) {
    const std::string& s = seq.as_string();
    if (n > 0 && s.size() > st.limits().max_output_bytes / static_cast<uint64_t>(n)) {
      return resource_exhausted("repeated string exceeds the size limit");
    }
    TS_RETURN_IF_ERROR(st.charge_bytes(s.size() * static_cast<size_t>(n)));
    std::string out;
    out.reserve(s.size() * static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) out += s;
    return Value::string(std::move(out));
  }
  const auto& items = seq.as_list();
  if (n > 0 && items.size() > st.limits().max_loop_iterations / static_cast<uint64_t>(n)) {
    return resource_exhausted("repeated list exceeds the size limit");
  }
  TS_RETURN_IF_ERROR(st.step(items.size() * static_cast<size_t>(n)));
  std::vector<Value> out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), items.begin(), items.end());
  return Value::sequence(std::move(out), seq.as_list_data().seq);
}

// jinja2's getitem turns a TypeError from Python's subscript into Undefined.
Value not_subscriptable(const Value& v) {
  return Value::undefined(std::string("'") + type_name(v) + " object' has no element slice");
}


}  // namespace

Result<bool> Evaluator::compare_op(CompareOp op, const Value& a, const Value& b) {
  switch (op) {
    case CompareOp::kEq:
      return equals(a, b);
    case CompareOp::kNe:
      return !equals(a, b);
    case CompareOp::kIn:
    case CompareOp::kNotIn: {
      bool found = false;
      if (b.is_string()) {
        if (!a.is_string()) {
          return type_error(std::string("'in <string>' requires string as left operand, not ") + type_name(a));
        }
        TS_RETURN_IF_ERROR(st_.charge_bytes(b.as_string().size()));
        found = b.as_string().find(a.as_string()) != std::string::npos;
      } else if (b.is_list()) {
        TS_RETURN_IF_ERROR(b.as_list_data().deferred_error);
        TS_RETURN_IF_ERROR(st_.step(b.as_list().size()));
        for (const auto& item : b.as_list()) {
          if (equals(item, a)) {
            found = true;
            break;
          }
        }
      } else if (b.is_dict()) {
        if (!hashable(a)) return type_error(std::string("unhashable type: '") + type_name(a) + "'");
        TS_RETURN_IF_ERROR(st_.step(b.as_dict().items.size()));
        found = b.as_dict().find(a) != nullptr;
      } else if (!b.is_undefined()) {
        return type_error(std::string("argument of type '") + type_name(b) + "' is not iterable");
      }
      return op == CompareOp::kIn ? found : !found;
    }
    default:
      break;
  }
  if (a.is_undefined()) return undefined_error(a);
  if (b.is_undefined()) return undefined_error(b);
  JINJA_TRY(int c, compare(a, b));
  switch (op) {
    case CompareOp::kLt:
      return c < 0;
    case CompareOp::kLe:
      return c <= 0;
    case CompareOp::kGt:
      return c > 0;
    default:
      return c >= 0;
  }
}

Result<Value> Evaluator::binary(BinaryOp op, const Value& a, const Value& b) {
  if (op == BinaryOp::kMod && a.is_string()) {  // str.__mod__ accepts any right operand
    JINJA_TRY(std::string s, py_percent_format(a.as_string(), b));
    TS_RETURN_IF_ERROR(st_.charge_bytes(s.size()));
    return Value::string(std::move(s));
  }
  if (a.is_undefined()) return undefined_error(a);
  if (b.is_undefined()) return undefined_error(b);
  const bool ints = a.is_integral() && b.is_integral();
  const bool nums = a.is_number() && b.is_number();
  switch (op) {
    case BinaryOp::kAdd:
      if (ints) {
        JINJA_TRY(int64_t v, checked(IntOp::kAdd, a.as_int(), b.as_int()));
        return Value::integer(v);
      }
      if (nums) return Value::real(a.as_double() + b.as_double());
      if (a.is_string() && b.is_string()) {
        TS_RETURN_IF_ERROR(st_.charge_bytes(a.as_string().size() + b.as_string().size()));
        return Value::string(a.as_string() + b.as_string());
      }
      if (a.is_list() && b.is_list() && a.as_list_data().is_plain() &&
          a.as_list_data().seq == b.as_list_data().seq) {
        TS_RETURN_IF_ERROR(st_.step(a.as_list().size() + b.as_list().size()));
        std::vector<Value> items = a.as_list();
        items.insert(items.end(), b.as_list().begin(), b.as_list().end());
        return Value::sequence(std::move(items), a.as_list_data().seq);
      }
      return unsupported_operands("+", a, b);
    case BinaryOp::kSub:
      if (ints) {
        JINJA_TRY(int64_t v, checked(IntOp::kSub, a.as_int(), b.as_int()));
        return Value::integer(v);
      }
      if (nums) return Value::real(a.as_double() - b.as_double());
      return unsupported_operands("-", a, b);
    case BinaryOp::kMul:
      if (ints) {
        JINJA_TRY(int64_t v, checked(IntOp::kMul, a.as_int(), b.as_int()));
        return Value::integer(v);
      }
      if (nums) return Value::real(a.as_double() * b.as_double());
      if ((a.is_string() || (a.is_list() && a.as_list_data().is_plain())) && b.is_integral()) {
        return repeat(st_, a, b.as_int());
      }
      if ((b.is_string() || (b.is_list() && b.as_list_data().is_plain())) && a.is_integral()) {
        return repeat(st_, b, a.as_int());
      }
      return unsupported_operands("*", a, b);
    case BinaryOp::kDiv:
      if (!nums) return unsupported_operands("/", a, b);
      if (b.as_double() == 0.0) return invalid_argument("division by zero");
      return Value::real(a.as_double() / b.as_double());
    case BinaryOp::kFloorDiv:
      if (!nums) return unsupported_operands("//", a, b);
      if (b.as_double() == 0.0) return invalid_argument("integer division or modulo by zero");
      if (ints) {
        if (a.as_int() == std::numeric_limits<int64_t>::min() && b.as_int() == -1) {
          return overflow();
        }
        return Value::integer(floor_div(a.as_int(), b.as_int()));
      }
      return Value::real(std::floor(a.as_double() / b.as_double()));
    case BinaryOp::kMod:
      if (!nums) return unsupported_operands("%", a, b);
      if (b.as_double() == 0.0) return invalid_argument("integer division or modulo by zero");
      if (ints) {
        if (b.as_int() == -1) return Value::integer(0);
        return Value::integer(a.as_int() - floor_div(a.as_int(), b.as_int()) * b.as_int());
      } else {
        double m = std::fmod(a.as_double(), b.as_double());
        if (m != 0 && ((m < 0) != (b.as_double() < 0))) m += b.as_double();
        return Value::real(m);
      }
    case BinaryOp::kPow:
      if (!nums) return unsupported_operands("**", a, b);
      if (ints && b.as_int() >= 0) {
        int64_t base = a.as_int();
        int64_t acc = 1;
        for (int64_t e = b.as_int(); e > 0; e >>= 1) {
          if (e & 1) {
            JINJA_TRY(acc, checked(IntOp::kMul, acc, base));
          }
          if (e > 1) {
            JINJA_TRY(base, checked(IntOp::kMul, base, base));
          }
        }
        return Value::integer(acc);
      }
      if (a.as_double() == 0.0 && b.as_double() < 0) {
        return invalid_argument("0.0 cannot be raised to a negative power");
      }
      if (a.as_double() < 0 && std::floor(b.as_double()) != b.as_double()) {
        return unimplemented("complex results of '**' are not supported");
      }
      return Value::real(std::pow(a.as_double(), b.as_double()));
    default:
      return internal_error("unexpected binary operator");
  }
}


Result<Value> slice_value(const Value& v, const Value& start_v, const Value& stop_v,
                          const Value& step_v) {
  for (const Value* x : {&start_v, &stop_v, &step_v}) {
    if (!x->is_none() && !x->is_integral()) return not_subscriptable(v);
  }
  if (!v.is_string() && !(v.is_list() && v.as_list_data().is_plain())) return not_subscriptable(v);
  const int64_t step = step_v.is_none() ? 1 : step_v.as_int();
  if (step == 0) return invalid_argument("slice step cannot be zero");
  std::vector<char32_t> cps;
  const bool is_str = v.is_string();
  const bool ascii = is_str && utf8_length(v.as_string()) == v.as_string().size();
  if (is_str && !ascii) cps = utf8_decode(v.as_string());
  const int64_t n = static_cast<int64_t>(
      is_str ? (ascii ? v.as_string().size() : cps.size()) : v.as_list().size());
  // Python's PySlice_AdjustIndices.
  auto adjust = [&](const Value& x, int64_t dflt, int64_t lo, int64_t hi) {
    if (x.is_none()) return dflt;
    int64_t i = x.as_int();
    if (i < 0) i += n;
    return i < lo ? lo : i > hi ? hi : i;
  };
  const int64_t start = step > 0 ? adjust(start_v, 0, 0, n) : adjust(start_v, n - 1, -1, n - 1);
  const int64_t stop = step > 0 ? adjust(stop_v, n, 0, n) : adjust(stop_v, -1, -1, n - 1);
  if (is_str) {
    std::string out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop;) {
      if (ascii) {
        out.push_back(v.as_string()[static_cast<size_t>(i)]);
      } else {
        utf8_append(cps[static_cast<size_t>(i)], &out);
      }
      if (__builtin_add_overflow(i, step, &i)) break;
    }
    return Value::string(std::move(out));
  }
  std::vector<Value> out;
  const auto& items = v.as_list();
  for (int64_t i = start; step > 0 ? i < stop : i > stop;) {
    out.push_back(items[static_cast<size_t>(i)]);
    if (__builtin_add_overflow(i, step, &i)) break;
  }
  return Value::sequence(std::move(out), v.as_list_data().seq);
}

}  // namespace trimserve::jinja
