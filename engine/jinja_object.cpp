// The object model seen by templates: attribute and item access, iteration, and the
// Undefined values jinja2's ImmutableSandboxedEnvironment produces instead of Python
// exceptions (missing keys, out-of-range indexes, unsafe methods).
#include <algorithm>
#include <string_view>

#include "engine/jinja_format.h"
#include "engine/jinja_runtime.h"
#include "engine/jinja_utf8.h"

namespace trimserve::jinja {

namespace {

template <size_t N>
bool contains(const std::string_view (&names)[N], std::string_view name) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

// Methods implemented in jinja_methods.cpp.
constexpr std::string_view kStrMethods[] = {
    "startswith", "endswith", "split",   "rsplit",  "splitlines", "strip",   "lstrip",
    "rstrip",     "upper",    "lower",   "title",   "capitalize", "replace", "find",
    "rfind",      "index",    "count",   "join",    "format",     "isdigit", "isalpha",
    "isalnum",    "isspace",  "isupper", "islower", "removeprefix", "removesuffix"};
constexpr std::string_view kDictMethods[] = {"get", "items", "keys", "values", "copy"};
constexpr std::string_view kListMethods[] = {"index", "count"};
// Methods that mutate: the immutable sandbox hands out an unusable Undefined instead.
constexpr std::string_view kDictUnsafe[] = {"clear", "pop", "popitem", "setdefault", "update"};
constexpr std::string_view kListUnsafe[] = {"append", "clear", "pop", "reverse", "insert",
                                            "sort",   "extend", "remove"};

Value bound(const Value& self, const std::string& name) {
  auto c = std::make_shared<Callable>();
  c->type = Callable::Type::kMethod;
  c->name = name;
  c->self = self;
  return Value::callable(std::move(c));
}

std::string owner(const Value& obj) {
  return obj.is_none() ? "None" : std::string("'") + type_name(obj) + " object'";
}

Value no_attribute(const Value& obj, const std::string& name) {
  return Value::undefined(owner(obj) + " has no attribute '" + name + "'");
}

Value unsafe(const Value& obj, const std::string& name) {
  return Value::undefined("access to attribute '" + name + "' of '" + type_name(obj) +
                          "' object is unsafe.");
}

Value loop_attr(const Value& obj, const std::string& name) {
  const LoopInfo& l = obj.as_loop();
  const auto n = static_cast<int64_t>(l.items->size());
  if (name == "index0") return Value::integer(l.index0);
  if (name == "index") return Value::integer(l.index0 + 1);
  if (name == "revindex") return Value::integer(n - l.index0);
  if (name == "revindex0") return Value::integer(n - l.index0 - 1);
  if (name == "first") return Value::boolean(l.index0 == 0);
  if (name == "last") return Value::boolean(l.index0 == n - 1);
  if (name == "length") return Value::integer(n);
  if (name == "depth") return Value::integer(l.depth0 + 1);
  if (name == "depth0") return Value::integer(l.depth0);
  if (name == "previtem") {
    if (l.index0 == 0) return Value::undefined("there is no previous item");
    return (*l.items)[static_cast<size_t>(l.index0 - 1)];
  }
  if (name == "nextitem") {
    if (l.index0 + 1 >= n) return Value::undefined("there is no next item");
    return (*l.items)[static_cast<size_t>(l.index0 + 1)];
  }
  if (name == "cycle") return bound(obj, name);
  return no_attribute(obj, name);
}

// getattr(obj, name) without the item fallback (jinja2's `attr` filter).
Value python_getattr(const Value& obj, const std::string& name, bool* found) {
  *found = true;
  switch (obj.kind()) {
    case Kind::kString:
      if (contains(kStrMethods, name)) return bound(obj, name);
      break;
    case Kind::kDict:
      if (contains(kDictMethods, name)) return bound(obj, name);
      if (contains(kDictUnsafe, name)) return unsafe(obj, name);
      break;
    case Kind::kList:
      if (!obj.as_list_data().is_plain()) break;
      if (contains(kListMethods, name)) return bound(obj, name);
      if (!obj.as_list_data().is_tuple() && contains(kListUnsafe, name)) return unsafe(obj, name);
      break;
    case Kind::kNamespace:
      if (const Value* v = obj.as_namespace().find(name)) return *v;
      break;
    case Kind::kLoop:
      return loop_attr(obj, name);
    default:
      break;
  }
  *found = false;
  return no_attribute(obj, name);
}

}  // namespace

Status undefined_error(const Value& undefined) {
  const std::string& hint = undefined.undefined_hint();
  return invalid_argument(hint.empty() ? "value is undefined" : hint);
}

Status type_error(const std::string& what) { return invalid_argument(what); }

Result<Value> get_attr(const Value& obj, const std::string& name) {
  bool found = false;
  Value v = python_getattr(obj, name, &found);
  if (found) return v;
  if (obj.is_dict() && name.rfind("__", 0) != 0) {
    if (const Value* item = obj.as_dict().find(name)) return *item;
  }
  return v;
}

Result<Value> get_attr_only(const Value& obj, const std::string& name) {
  bool found = false;
  return python_getattr(obj, name, &found);
}

Result<Value> get_item(const Value& obj, const Value& key) {
  switch (obj.kind()) {
    case Kind::kList:
    case Kind::kString:
      if (obj.is_list() && !obj.as_list_data().is_plain()) break;  // not subscriptable
      if (key.is_integral()) {
        int64_t i = key.as_int();
        if (obj.is_list()) {
          const auto& items = obj.as_list();
          const auto n = static_cast<int64_t>(items.size());
          if (i < 0) i += n;
          if (i >= 0 && i < n) return items[static_cast<size_t>(i)];
        } else {
          const std::string& s = obj.as_string();
          const size_t len = utf8_length(s);
          const auto n = static_cast<int64_t>(len);
          if (i < 0) i += n;
          if (i >= 0 && i < n) {
            if (len == s.size()) return Value::string(std::string(1, s[static_cast<size_t>(i)]));
            std::string out;
            utf8_append(utf8_decode(s)[static_cast<size_t>(i)], &out);
            return Value::string(std::move(out));
          }
        }
        return Value::undefined(owner(obj) + " has no element " + std::to_string(key.as_int()));
      }
      break;
    case Kind::kDict:
      if (hashable(key)) {
        if (const Value* v = obj.as_dict().find(key)) return *v;
      }
      break;
    default:
      break;
  }
  // jinja2 falls back to getattr for string keys: d['items'] finds the method.
  if (key.is_string()) {
    bool found = false;
    Value v = python_getattr(obj, key.as_string(), &found);
    if (found) return v;
  }
  return Value::undefined(owner(obj) + " has no element " + py_repr(key));
}

Result<std::shared_ptr<const std::vector<Value>>> iterate(const Value& v) {
  switch (v.kind()) {
    case Kind::kList:
      if (!v.as_list_data().deferred_error.ok()) return v.as_list_data().deferred_error;
      // Aliasing constructor: shares the list's storage without copying it.
      return std::shared_ptr<const std::vector<Value>>(v.list_ptr(), &v.as_list());
    case Kind::kUndefined:
      return std::make_shared<const std::vector<Value>>();
    case Kind::kDict: {
      auto keys = std::make_shared<std::vector<Value>>();
      for (const auto& kv : v.as_dict().items) keys->push_back(kv.first);
      return std::shared_ptr<const std::vector<Value>>(std::move(keys));
    }
    case Kind::kString: {
      auto chars = std::make_shared<std::vector<Value>>();
      const std::string& s = v.as_string();
      size_t pos = 0;
      while (pos < s.size()) {
        const size_t at = pos;
        utf8_next(s, &pos);
        chars->push_back(Value::string(s.substr(at, pos - at)));
      }
      return std::shared_ptr<const std::vector<Value>>(std::move(chars));
    }
    default:
      return type_error(std::string("'") + type_name(v) + "' object is not iterable");
  }
}

}  // namespace trimserve::jinja
