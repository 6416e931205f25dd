#include "engine/jinja_value.h"

#include <algorithm>
#include <cmath>

#include "engine/jinja_utf8.h"

namespace trimserve::jinja {

Value Value::undefined(std::string hint) {
  return Value(Payload(UndefinedTag{std::make_shared<const std::string>(std::move(hint))}));
}

Value Value::string(std::string s) {
  return Value(Payload(std::make_shared<const std::string>(std::move(s))));
}

Value Value::list(std::vector<Value> items, bool is_tuple) {
  return sequence(std::move(items), is_tuple ? Seq::kTuple : Seq::kList);
}

Value Value::failed_generator(Status error) {
  auto data = std::make_shared<ListData>();
  data->seq = Seq::kGenerator;
  data->deferred_error = std::move(error);
  return Value(Payload(ListPtr(std::move(data))));
}

Value Value::sequence(std::vector<Value> items, Seq seq) {
  auto data = std::make_shared<ListData>();
  int depth = 0;
  for (const auto& item : items) depth = std::max(depth, item.nesting());
  data->items = std::move(items);
  data->seq = seq;
  data->depth = depth + 1;
  return Value(Payload(ListPtr(std::move(data))));
}

Value Value::dict(std::shared_ptr<DictData> d) {
  int depth = 0;
  for (const auto& [k, v] : d->items) depth = std::max({depth, k.nesting(), v.nesting()});
  d->depth = depth + 1;
  return Value(Payload(DictPtr(std::move(d))));
}

int Value::nesting() const {
  if (kind() == Kind::kList) return std::get<ListPtr>(v_)->depth;
  if (kind() == Kind::kDict) return std::get<DictPtr>(v_)->depth;
  return 0;
}
Value Value::new_namespace(std::shared_ptr<DictData> d) { return Value(Payload(std::move(d))); }
Value Value::loop(std::shared_ptr<const LoopInfo> l) { return Value(Payload(std::move(l))); }
Value Value::callable(std::shared_ptr<const Callable> c) { return Value(Payload(std::move(c))); }

double Value::as_double() const {
  switch (kind()) {
    case Kind::kFloat:
      return std::get<double>(v_);
    case Kind::kInt:
      return static_cast<double>(std::get<int64_t>(v_));
    default:
      return std::get<bool>(v_) ? 1.0 : 0.0;
  }
}

const std::vector<Value>& Value::as_list() const { return std::get<ListPtr>(v_)->items; }

const std::string& Value::undefined_hint() const {
  static const std::string kEmpty;
  const auto& tag = std::get<UndefinedTag>(v_);
  return tag.hint ? *tag.hint : kEmpty;
}

const void* Value::identity() const {
  switch (kind()) {
    case Kind::kString:
      return std::get<StrPtr>(v_).get();
    case Kind::kList:
      return std::get<ListPtr>(v_).get();
    case Kind::kDict:
      return std::get<DictPtr>(v_).get();
    case Kind::kNamespace:
      return std::get<NamespacePtr>(v_).get();
    case Kind::kLoop:
      return std::get<LoopPtr>(v_).get();
    case Kind::kCallable:
      return std::get<CallablePtr>(v_).get();
    default:
      return nullptr;
  }
}

const Value* DictData::find(const Value& key) const {
  for (const auto& [k, v] : items) {
    if (equals(k, key)) return &v;
  }
  return nullptr;
}

const Value* DictData::find(std::string_view key) const {
  for (const auto& [k, v] : items) {
    if (k.is_string() && k.as_string() == key) return &v;
  }
  return nullptr;
}

void DictData::set(Value key, Value value) {
  for (auto& [k, v] : items) {
    if (equals(k, key)) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(std::move(key), std::move(value));
}

const char* type_name(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
      return "Undefined";
    case Kind::kNone:
      return "NoneType";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kList:
      switch (v.as_list_data().seq) {
        case Seq::kList: return "list";
        case Seq::kTuple: return "tuple";
        case Seq::kGenerator: return "generator";
        case Seq::kDictKeys: return "dict_keys";
        case Seq::kDictValues: return "dict_values";
        case Seq::kDictItems: return "dict_items";
      }
      return "list";
    case Kind::kDict:
      return "dict";
    case Kind::kNamespace:
      return "Namespace";
    case Kind::kLoop:
      return "LoopContext";
    case Kind::kCallable:
      return v.as_callable().type == Callable::Type::kMacro ? "Macro" : "function";
  }
  return "object";
}

bool truthy(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return v.as_bool();
    case Kind::kInt:
      return v.as_int() != 0;
    case Kind::kFloat:
      return v.as_double() != 0.0;
    case Kind::kString:
      return !v.as_string().empty();
    case Kind::kList:  // a generator object is truthy even when it would yield nothing
      return v.as_list_data().seq == Seq::kGenerator || !v.as_list().empty();
    case Kind::kDict:
      return !v.as_dict().items.empty();
    default:
      return true;
  }
}

bool equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral()) return a.as_int() == b.as_int();
    return a.as_double() == b.as_double();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::kUndefined:
    case Kind::kNone:
      return true;
    case Kind::kString:
      return a.as_string() == b.as_string();
    case Kind::kList: {
      if (a.as_list_data().seq != b.as_list_data().seq) return false;
      if (a.as_list_data().seq == Seq::kGenerator) return a.identity() == b.identity();
      const auto& x = a.as_list();
      const auto& y = b.as_list();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!equals(x[i], y[i])) return false;
      }
      return true;
    }
    case Kind::kDict: {
      const auto& x = a.as_dict().items;
      const auto& y = b.as_dict();
      if (x.size() != y.items.size()) return false;
      for (const auto& [k, v] : x) {
        const Value* other = y.find(k);
        if (other == nullptr || !equals(v, *other)) return false;
      }
      return true;
    }
    default:
      return a.identity() == b.identity();
  }
}

Result<int> compare(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral()) {
      return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
    }
    const double x = a.as_double();
    const double y = b.as_double();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    // Byte order of valid UTF-8 equals code point order, which is Python's str order.
    const int c = a.as_string().compare(b.as_string());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.is_list() && b.is_list() && a.as_list_data().is_plain() &&
      a.as_list_data().seq == b.as_list_data().seq) {
    const auto& x = a.as_list();
    const auto& y = b.as_list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (equals(x[i], y[i])) continue;
      return compare(x[i], y[i]);
    }
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  return invalid_argument(std::string("'<' not supported between instances of '") +
                          type_name(a) + "' and '" + type_name(b) + "'");
}

bool hashable(const Value& v) {
  switch (v.kind()) {
    case Kind::kList:
      switch (v.as_list_data().seq) {
        case Seq::kTuple:
          for (const auto& item : v.as_list()) {
            if (!hashable(item)) return false;
          }
          return true;
        case Seq::kGenerator:
        case Seq::kDictValues:
          return true;  // hashed by identity in CPython
        default:
          return false;
      }
    case Kind::kDict:
      return false;
    default:
      return true;  // scalars by value; Undefined, namespaces, loops, callables by identity
  }
}

namespace {

constexpr int kMaxJsonDepth = 200;

Result<Value> convert(const nlohmann::ordered_json& j, int depth) {
  if (depth > kMaxJsonDepth) return invalid_argument("JSON input nested too deeply");
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null:
      return Value::none();
    case nlohmann::ordered_json::value_t::boolean:
      return Value::boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return Value::integer(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return invalid_argument("JSON integer too large");
      return Value::integer(static_cast<int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float:
      return Value::real(j.get<double>());
    case nlohmann::ordered_json::value_t::string: {
      const auto& s = j.get_ref<const std::string&>();
      if (!utf8_valid(s)) return invalid_argument("JSON string is not valid UTF-8");
      return Value::string(s);
    }
    case nlohmann::ordered_json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) {
        auto r = convert(e, depth + 1);
        if (!r.ok()) return r.status();
        items.push_back(std::move(r).value());
      }
      return Value::list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      auto d = std::make_shared<DictData>();
      d->items.reserve(j.size());
      for (const auto& [k, e] : j.items()) {
        if (!utf8_valid(k)) return invalid_argument("JSON key is not valid UTF-8");
        auto r = convert(e, depth + 1);
        if (!r.ok()) return r.status();
        // JSON object keys are unique after parsing, so no duplicate check is needed.
        d->items.emplace_back(Value::string(k), std::move(r).value());
      }
      return Value::dict(std::move(d));
    }
    default:
      return invalid_argument("unsupported JSON value (binary or discarded)");
  }
}

}  // namespace

Result<Value> from_json(const nlohmann::ordered_json& j) { return convert(j, 0); }

}  // namespace trimserve::jinja
