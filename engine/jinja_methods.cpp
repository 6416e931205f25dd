// Python methods callable from templates: str (startswith, split, strip, format, ...),
// dict (get, items, keys, values, copy), list/tuple (index, count) and loop.cycle.
#include <algorithm>

#include "engine/jinja_eval.h"
#include "engine/jinja_format.h"
#include "engine/jinja_result.h"
#include "engine/jinja_utf8.h"

namespace trimserve::jinja {

namespace {

Result<const std::string*> opt_str(const std::optional<Value>& v, const char* what) {
  if (!v || v->is_none()) return static_cast<const std::string*>(nullptr);
  if (!v->is_string()) return type_error(std::string(what) + " must be str or None, not " + type_name(*v));
  return &v->as_string();
}

Result<std::string> req_str(const std::optional<Value>& v, const char* fn) {
  if (!v) return type_error(std::string(fn) + "() missing a required argument");
  if (!v->is_string()) return type_error(std::string(fn) + "() argument must be str, not " + type_name(*v));
  return v->as_string();
}

Result<int64_t> opt_int(const std::optional<Value>& v, int64_t dflt) {
  if (!v || v->is_none()) return dflt;
  if (!v->is_integral()) return type_error(std::string("an integer is required, not ") + type_name(*v));
  return v->as_int();
}

Value str_list(std::vector<std::string> parts) {
  std::vector<Value> items;
  items.reserve(parts.size());
  for (auto& p : parts) items.push_back(Value::string(std::move(p)));
  return Value::list(std::move(items));
}

// Code-point slice s[start:end] for the optional start/end of startswith/find/count.
Result<std::string> cp_range(const std::string& s, const std::optional<Value>& start,
                             const std::optional<Value>& end) {
  if ((!start || start->is_none()) && (!end || end->is_none())) return s;
  Value v = Value::string(s);
  JINJA_TRY(Value r, slice_value(v, start ? *start : Value::none(), end ? *end : Value::none(), Value::none()));
  if (!r.is_string()) return type_error("slice indices must be integers or None");
  return r.as_string();
}

// Python str.format with auto/explicit positional fields, keyword fields, !r/!s
// conversions and attribute/index chains; format specs are not supported.
Result<Value> str_format(Evaluator& ev, const std::string& fmt, const Args& args) {
  std::string out;
  size_t auto_index = 0;
  bool used_auto = false;
  bool used_manual = false;
  for (size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}') {
        out.push_back('}');
        ++i;
        continue;
      }
      return invalid_argument("Single '}' encountered in format string");
    }
    if (c != '{') {
      out.push_back(c);
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out.push_back('{');
      ++i;
      continue;
    }
    const size_t close = fmt.find('}', i);
    if (close == std::string::npos) return invalid_argument("Single '{' encountered in format string");
    std::string field = fmt.substr(i + 1, close - i - 1);
    i = close;
    std::string spec;
    char conv = 0;
    if (const size_t colon = field.find(':'); colon != std::string::npos) {
      spec = field.substr(colon + 1);
      field.resize(colon);
    }
    if (const size_t bang = field.find('!'); bang != std::string::npos) {
      if (bang + 2 != field.size()) return invalid_argument("invalid conversion in format string");
      conv = field[bang + 1];
      field.resize(bang);
    }
    if (!spec.empty()) return unimplemented("format specs in str.format are not supported");
    size_t name_end = std::min(field.find('.'), field.find('['));
    if (name_end == std::string::npos) name_end = field.size();
    const std::string name = field.substr(0, name_end);
    Value v;
    if (name.empty() || std::all_of(name.begin(), name.end(), ::isdigit)) {
      size_t index;
      if (name.empty()) {
        used_auto = true;
        index = auto_index++;
      } else {
        used_manual = true;
        index = std::stoul(name);
      }
      if (used_auto && used_manual) {
        return invalid_argument("cannot switch between automatic and manual field numbering");
      }
      if (index >= args.positional.size()) return out_of_range("Replacement index " + std::to_string(index) + " out of range");
      v = args.positional[index];
    } else {
      auto it = std::find_if(args.keyword.begin(), args.keyword.end(),
                             [&](const auto& kv) { return kv.first == name; });
      if (it == args.keyword.end()) return invalid_argument("KeyError: '" + name + "'");
      v = it->second;
    }
    // .attr and [key] chains.
    size_t p = name_end;
    while (p < field.size()) {
      if (field[p] == '.') {
        size_t e = std::min(field.find('.', p + 1), field.find('[', p + 1));
        if (e == std::string::npos) e = field.size();
        JINJA_TRY(v, get_attr(v, field.substr(p + 1, e - p - 1)));
        p = e;
      } else {
        const size_t e = field.find(']', p);
        if (e == std::string::npos) return invalid_argument("Missing ']' in format string");
        const std::string key = field.substr(p + 1, e - p - 1);
        const bool numeric = !key.empty() && std::all_of(key.begin(), key.end(), ::isdigit);
        JINJA_TRY(v, get_item(v, numeric ? Value::integer(std::stoll(key)) : Value::string(key)));
        p = e + 1;
      }
    }
    if (v.is_undefined()) return undefined_error(v);
    out += conv == 'r' ? py_repr(v) : py_str(v);
  }
  TS_RETURN_IF_ERROR(ev.state().charge_bytes(out.size()));
  return Value::string(std::move(out));
}

Result<Value> string_method(Evaluator& ev, const std::string& s, const std::string& m, const Args& a) {
  TS_RETURN_IF_ERROR(ev.state().charge_bytes(s.size()));
  if (m == "format") return str_format(ev, s, a);
  if (m == "startswith" || m == "endswith") {
    JINJA_TRY(auto p, bind_args(m, a, {"prefix", "start", "end"}));
    JINJA_TRY(std::string hay, cp_range(s, p[1], p[2]));
    std::vector<std::string> needles;
    if (p[0] && p[0]->is_list() && p[0]->as_list_data().is_tuple()) {
      for (const auto& n : p[0]->as_list()) {
        if (!n.is_string()) return type_error(m + " first arg must be str or a tuple of str");
        needles.push_back(n.as_string());
      }
    } else {
      JINJA_TRY(std::string n, req_str(p[0], m.c_str()));
      needles.push_back(std::move(n));
    }
    for (const auto& n : needles) {
      const bool hit = n.size() <= hay.size() &&
                       (m == "startswith" ? hay.compare(0, n.size(), n) == 0
                                          : hay.compare(hay.size() - n.size(), n.size(), n) == 0);
      if (hit) return Value::boolean(true);
    }
    return Value::boolean(false);
  }
  if (m == "split" || m == "rsplit") {
    JINJA_TRY(auto p, bind_args(m, a, {"sep", "maxsplit"}));
    JINJA_TRY(const std::string* sep, opt_str(p[0], "sep"));
    if (sep != nullptr && sep->empty()) return invalid_argument("empty separator");
    JINJA_TRY(int64_t maxsplit, opt_int(p[1], -1));
    return str_list(m == "split" ? py_split(s, sep, maxsplit) : py_rsplit(s, sep, maxsplit));
  }
  if (m == "splitlines") {
    JINJA_TRY(auto p, bind_args(m, a, {"keepends"}));
    return str_list(py_splitlines(s, p[0] && truthy(*p[0])));
  }
  if (m == "strip" || m == "lstrip" || m == "rstrip") {
    JINJA_TRY(auto p, bind_args(m, a, {"chars"}));
    JINJA_TRY(const std::string* chars, opt_str(p[0], "chars"));
    return Value::string(py_strip(s, chars, m != "rstrip", m != "lstrip"));
  }
  if (m == "upper" || m == "lower" || m == "title" || m == "capitalize") {
    JINJA_TRY(auto p, bind_args(m, a, {}));
    return Value::string(m == "upper" ? py_upper(s) : m == "lower" ? py_lower(s)
                         : m == "title" ? py_title(s) : py_capitalize(s));
  }
  if (m == "replace") {
    JINJA_TRY(auto p, bind_args(m, a, {"old", "new", "count"}));
    JINJA_TRY(std::string old_s, req_str(p[0], "replace"));
    JINJA_TRY(std::string new_s, req_str(p[1], "replace"));
    JINJA_TRY(int64_t count, opt_int(p[2], -1));
    std::string out = py_replace(s, old_s, new_s, count);
    TS_RETURN_IF_ERROR(ev.state().charge_bytes(out.size()));
    return Value::string(std::move(out));
  }
  if (m == "find" || m == "rfind" || m == "index" || m == "count") {
    JINJA_TRY(auto p, bind_args(m, a, {"sub", "start", "end"}));
    JINJA_TRY(std::string sub, req_str(p[0], m.c_str()));
    int64_t offset = 0;
    if (p[1] && !p[1]->is_none()) {
      if (!p[1]->is_integral()) return type_error("slice indices must be integers or None");
      const int64_t n = static_cast<int64_t>(utf8_length(s));
      offset = p[1]->as_int() < 0 ? std::max<int64_t>(0, p[1]->as_int() + n) : std::min(p[1]->as_int(), n);
    }
    JINJA_TRY(std::string hay, cp_range(s, p[1], p[2]));
    if (m == "count") {
      if (sub.empty()) return Value::integer(static_cast<int64_t>(utf8_length(hay)) + 1);
      int64_t n = 0;
      for (size_t at = hay.find(sub); at != std::string::npos; at = hay.find(sub, at + sub.size())) ++n;
      return Value::integer(n);
    }
    const size_t at = m == "rfind" ? hay.rfind(sub) : hay.find(sub);
    if (at == std::string::npos) {
      if (m == "index") return invalid_argument("substring not found");
      return Value::integer(-1);
    }
    return Value::integer(offset + static_cast<int64_t>(utf8_length(std::string_view(hay).substr(0, at))));
  }
  if (m == "join") {
    JINJA_TRY(auto p, bind_args(m, a, {"iterable"}));
    if (!p[0]) return type_error("join() takes exactly one argument");
    JINJA_TRY(auto items, iterate(*p[0]));
    std::string out;
    for (size_t i = 0; i < items->size(); ++i) {
      const Value& item = (*items)[i];
      if (!item.is_string()) {
        return type_error("sequence item " + std::to_string(i) + ": expected str instance, " +
                          type_name(item) + " found");
      }
      if (i > 0) out += s;
      out += item.as_string();
      TS_RETURN_IF_ERROR(ev.state().charge_bytes(out.size()));
    }
    return Value::string(std::move(out));
  }
  if (m == "removeprefix" || m == "removesuffix") {
    JINJA_TRY(auto p, bind_args(m, a, {"affix"}));
    JINJA_TRY(std::string x, req_str(p[0], m.c_str()));
    if (x.size() <= s.size()) {
      if (m == "removeprefix" && s.compare(0, x.size(), x) == 0) return Value::string(s.substr(x.size()));
      if (m == "removesuffix" && s.compare(s.size() - x.size(), x.size(), x) == 0) {
        return Value::string(s.substr(0, s.size() - x.size()));
      }
    }
    return Value::string(s);
  }
  JINJA_TRY(auto p, bind_args(m, a, {}));
  if (m == "isdigit") return Value::boolean(py_is_digit(s));
  if (m == "isalpha") return Value::boolean(py_is_alpha(s));
  if (m == "isalnum") return Value::boolean(py_is_alnum(s));
  if (m == "isspace") return Value::boolean(py_is_all_space(s));
  if (m == "isupper") return Value::boolean(py_is_upper(s));
  if (m == "islower") return Value::boolean(py_is_lower(s));
  return internal_error("unknown str method " + m);
}

Result<Value> dict_method(const Value& self, const std::string& m, const Args& a) {
  const DictData& d = self.as_dict();
  if (m == "get") {
    JINJA_TRY(auto p, bind_args(m, a, {"key", "default"}));
    if (!p[0]) return type_error("get expected at least 1 argument, got 0");
    if (!hashable(*p[0])) return type_error(std::string("unhashable type: '") + type_name(*p[0]) + "'");
    if (const Value* v = d.find(*p[0])) return *v;
    return p[1] ? *p[1] : Value::none();
  }
  JINJA_TRY(auto p, bind_args(m, a, {}));
  if (m == "copy") return self;  // dicts are immutable here, so sharing is a copy
  std::vector<Value> out;
  out.reserve(d.items.size());
  for (const auto& [k, v] : d.items) {
    if (m == "keys") {
      out.push_back(k);
    } else if (m == "values") {
      out.push_back(v);
    } else {
      out.push_back(Value::list({k, v}, true));
    }
  }
  return Value::sequence(std::move(out), m == "keys"     ? Seq::kDictKeys
                                         : m == "values" ? Seq::kDictValues
                                                         : Seq::kDictItems);
}

Result<Value> list_method(const Value& self, const std::string& m, const Args& a) {
  JINJA_TRY(auto p, bind_args(m, a, {"value"}));
  if (!p[0]) return type_error(m + "() takes exactly one argument (0 given)");
  const auto& items = self.as_list();
  int64_t count = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!equals(items[i], *p[0])) continue;
    if (m == "index") return Value::integer(static_cast<int64_t>(i));
    ++count;
  }
  if (m == "index") return invalid_argument(py_repr(*p[0]) + " is not in list");
  return Value::integer(count);
}

}  // namespace

Result<Value> call_method(Evaluator& ev, const Callable& c, const Args& args) {
  const Value& self = c.self;
  switch (self.kind()) {
    case Kind::kString:
      return string_method(ev, self.as_string(), c.name, args);
    case Kind::kDict:
      TS_RETURN_IF_ERROR(ev.state().step(self.as_dict().items.size()));
      return dict_method(self, c.name, args);
    case Kind::kList:
      TS_RETURN_IF_ERROR(ev.state().step(self.as_list().size()));
      return list_method(self, c.name, args);
    case Kind::kLoop: {  // loop.cycle(a, b, ...)
      if (args.positional.empty()) return type_error("no items for cycling given");
      const auto n = static_cast<int64_t>(args.positional.size());
      return args.positional[static_cast<size_t>(self.as_loop().index0 % n)];
    }
    default:
      return internal_error("method on unsupported object");
  }
}

}  // namespace trimserve::jinja
