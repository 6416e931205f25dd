// Global functions: jinja2's defaults (range, dict, namespace) and the ones transformers
// registers for chat templates (raise_exception, strftime_now).
#include <array>
#include <ctime>

#include "engine/jinja_eval.h"
#include "engine/jinja_format.h"
#include "engine/jinja_result.h"

namespace trimserve::jinja {

namespace {

// jinja2.sandbox.MAX_RANGE: the sandbox refuses larger ranges.
constexpr int64_t kMaxRange = 100000;

constexpr std::array<const char*, 5> kGlobalNames = {"range", "dict", "namespace",
                                                     "raise_exception", "strftime_now"};

// Adds dict(*args, **kwargs)-style items: one optional mapping or sequence of pairs, then
// keyword arguments.
Status fill_mapping(const char* fn, const Args& a, DictData* d) {
  if (a.positional.size() > 1) return type_error(std::string(fn) + " expected at most 1 positional argument");
  if (!a.positional.empty()) {
    const Value& src = a.positional[0];
    if (src.is_dict()) {
      for (const auto& [k, v] : src.as_dict().items) d->set(k, v);
    } else if (src.kind() == Kind::kNamespace) {
      for (const auto& [k, v] : src.as_namespace().items) d->set(k, v);
    } else {
      JINJA_TRY(auto pairs, iterate(src));
      for (const auto& pair : *pairs) {
        JINJA_TRY(auto kv, iterate(pair));
        if (kv->size() != 2) return invalid_argument("dictionary update sequence element has wrong length");
        if (!hashable((*kv)[0])) return type_error("unhashable dict key");
        d->set((*kv)[0], (*kv)[1]);
      }
    }
  }
  for (const auto& [k, v] : a.keyword) d->set(Value::string(k), v);
  return Status();
}

Result<Value> range_fn(Evaluator& ev, const Args& a) {
  if (!a.keyword.empty()) return type_error("range() takes no keyword arguments");
  const auto& p = a.positional;
  if (p.empty() || p.size() > 3) return type_error("range expected 1 to 3 arguments");
  for (const auto& v : p) {
    if (!v.is_integral()) return type_error(std::string("'") + type_name(v) + "' object cannot be interpreted as an integer");
  }
  const int64_t start = p.size() == 1 ? 0 : p[0].as_int();
  const int64_t stop = p.size() == 1 ? p[0].as_int() : p[1].as_int();
  const int64_t step = p.size() == 3 ? p[2].as_int() : 1;
  if (step == 0) return invalid_argument("range() arg 3 must not be zero");
  // Length computed in long double to avoid int64 overflow on extreme bounds.
  long double len = 0;
  if (step > 0 && stop > start) len = ((long double)stop - start + step - 1) / step;
  if (step < 0 && stop < start) len = ((long double)start - stop - step - 1) / -step;
  if (len > kMaxRange) {
    return resource_exhausted("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  }
  const auto n = static_cast<int64_t>(len);
  TS_RETURN_IF_ERROR(ev.state().step(static_cast<uint64_t>(n)));
  std::vector<Value> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out.push_back(Value::integer(start + i * step));
  return Value::list(std::move(out));
}

Result<Value> strftime_now(Evaluator& ev, const Args& a) {
  JINJA_TRY(auto p, bind_args("strftime_now", a, {"format"}));
  if (!p[0] || !p[0]->is_string()) return type_error("strftime_now() argument must be str");
  const std::time_t now = ev.state().now();
  std::tm tm{};
  localtime_r(&now, &tm);
  const std::string& fmt = p[0]->as_string();
  if (fmt.empty()) return Value::string("");
  std::string buf(fmt.size() * 4 + 64, '\0');
  const size_t n = std::strftime(buf.data(), buf.size(), fmt.c_str(), &tm);
  if (n == 0) return invalid_argument("strftime_now: format produced no output or is too long");
  buf.resize(n);
  return Value::string(std::move(buf));
}

}  // namespace

const Value* find_global(std::string_view name) {
  static const std::vector<std::pair<std::string, Value>> globals = [] {
    std::vector<std::pair<std::string, Value>> g;
    for (const char* n : kGlobalNames) {
      auto c = std::make_shared<Callable>();
      c->type = Callable::Type::kGlobal;
      c->name = n;
      g.emplace_back(n, Value::callable(std::move(c)));
    }
    return g;
  }();
  for (const auto& [n, v] : globals) {
    if (n == name) return &v;
  }
  return nullptr;
}

Result<Value> call_global(Evaluator& ev, const Callable& c, const Args& a) {
  const std::string& name = c.name;
  if (name == "range") return range_fn(ev, a);
  if (name == "dict") {
    auto d = std::make_shared<DictData>();
    TS_RETURN_IF_ERROR(fill_mapping("dict", a, d.get()));
    return Value::dict(std::move(d));
  }
  if (name == "namespace") {
    auto d = std::make_shared<DictData>();
    TS_RETURN_IF_ERROR(fill_mapping("namespace", a, d.get()));
    return ev.state().make_namespace(std::move(d));
  }
  if (name == "raise_exception") {
    JINJA_TRY(auto p, bind_args("raise_exception", a, {"message"}));
    // The template author's message reaches the caller verbatim, without a line prefix.
    ev.state().error_located = true;
    return invalid_argument(p[0] ? py_str(*p[0]) : std::string());
  }
  if (name == "strftime_now") return strftime_now(ev, a);
  return internal_error("unknown global " + name);
}

}  // namespace trimserve::jinja
