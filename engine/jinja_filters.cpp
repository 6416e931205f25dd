// Filters (`value | name(args)`), following jinja2 3.1's builtin filters, with transformers'
// `tojson` (json.dumps, ensure_ascii=False, no HTML escaping) in place of jinja2's.
//
// Implemented here: abs attr capitalize count d default e escape first float format indent
// int last length list lower replace reverse round safe string title tojson trim upper;
// in jinja_seq_filters.cpp: batch dictsort items join map max min reject rejectattr select
// selectattr sort sum unique.
// Filters that return generators in jinja2 (map, select, reject, selectattr, rejectattr,
// items, unique, batch, reverse) return Seq::kGenerator sequences: evaluated eagerly, but
// truthy, unsized and unsubscriptable like the Python generator objects.
// Not implemented: center filesizeformat forceescape groupby pprint random slice
// striptags truncate urlencode urlize wordcount wordwrap xmlattr.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "engine/jinja_eval.h"
#include "engine/jinja_format.h"
#include "engine/jinja_result.h"
#include "engine/jinja_utf8.h"

namespace trimserve::jinja {

namespace {

Value arg_or(const std::optional<Value>& v, Value dflt) { return v ? *v : std::move(dflt); }

Result<Value> do_tojson(Evaluator& ev, const Value& input, const Args& a) {
  JINJA_TRY(auto p, bind_args("tojson", a, {"ensure_ascii", "indent", "separators", "sort_keys"}));
  JsonOptions o;
  o.ensure_ascii = p[0] && truthy(*p[0]);
  if (p[1] && !p[1]->is_none()) {
    if (p[1]->is_integral()) {
      o.indent = std::string(static_cast<size_t>(std::max<int64_t>(0, std::min<int64_t>(p[1]->as_int(), 1024))), ' ');
    } else if (p[1]->is_string()) {
      o.indent = p[1]->as_string();
    } else {
      return type_error("tojson indent must be an int or a str");
    }
  }
  if (p[2] && !p[2]->is_none()) {
    if (!p[2]->is_list() || p[2]->as_list().size() != 2 || !p[2]->as_list()[0].is_string() ||
        !p[2]->as_list()[1].is_string()) {
      return type_error("tojson separators must be a pair of strings");
    }
    o.item_separator = p[2]->as_list()[0].as_string();
    o.key_separator = p[2]->as_list()[1].as_string();
  }
  o.sort_keys = p[3] && truthy(*p[3]);
  JINJA_TRY(std::string s, to_json(input, o, ev.state().limits().max_output_bytes));
  TS_RETURN_IF_ERROR(ev.state().charge_bytes(s.size()));
  return Value::string(std::move(s));
}

Result<Value> do_indent(Evaluator& ev, const Value& input, const Args& a) {
  JINJA_TRY(auto p, bind_args("indent", a, {"width", "first", "blank"}));
  std::string pad = "    ";
  if (p[0]) {
    if (p[0]->is_string()) {
      pad = p[0]->as_string();
    } else if (p[0]->is_integral()) {
      pad = std::string(static_cast<size_t>(std::clamp<int64_t>(p[0]->as_int(), 0, 1024)), ' ');
    } else {
      return type_error("indent width must be an int or a str");
    }
  }
  if (!input.is_string()) return type_error(std::string("indent expects a string, not ") + type_name(input));
  std::string s = input.as_string() + "\n";  // jinja2's quirk: keeps a trailing empty line
  std::vector<std::string> lines = py_splitlines(s, false);
  std::string rv;
  if (p[2] && truthy(*p[2])) {
    for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + pad : "") + lines[i];
  } else {
    rv = lines.empty() ? "" : lines[0];
    for (size_t i = 1; i < lines.size(); ++i) rv += "\n" + (lines[i].empty() ? "" : pad) + lines[i];
  }
  if (p[1] && truthy(*p[1])) rv = pad + rv;
  TS_RETURN_IF_ERROR(ev.state().charge_bytes(rv.size()));
  return Value::string(std::move(rv));
}

Result<Value> do_round(const Value& input, const Args& a) {
  JINJA_TRY(auto p, bind_args("round", a, {"precision", "method"}));
  const int64_t precision = p[0] && p[0]->is_integral() ? p[0]->as_int() : 0;
  const std::string method = p[1] && p[1]->is_string() ? p[1]->as_string() : "common";
  if (method != "common" && method != "ceil" && method != "floor") {
    return type_error("method must be common, ceil or floor");
  }
  if (!input.is_number()) return type_error(std::string("type ") + type_name(input) + " doesn't define __round__");
  if (method == "common") {
    if (input.is_integral() && precision >= 0) return Value::integer(input.as_int());
    char buf[512];
    std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(std::clamp<int64_t>(precision, 0, 300)), input.as_double());
    double r = std::strtod(buf, nullptr);
    if (precision < 0) {
      const double f = std::pow(10.0, static_cast<double>(-precision));
      r = std::nearbyint(input.as_double() / f) * f;
    }
    return Value::real(r);
  }
  const double f = std::pow(10.0, static_cast<double>(precision));
  const double x = input.as_double() * f;
  return Value::real((method == "ceil" ? std::ceil(x) : std::floor(x)) / f);
}

Result<Value> do_int(const Value& input, const Args& a) {
  JINJA_TRY(auto p, bind_args("int", a, {"default", "base"}));
  const Value dflt = arg_or(p[0], Value::integer(0));
  const int base = p[1] && p[1]->is_integral() ? static_cast<int>(p[1]->as_int()) : 10;
  if (input.is_undefined()) return undefined_error(input);  // int(Undefined) raises
  if (input.is_integral()) return Value::integer(input.as_int());
  if (input.kind() == Kind::kFloat) {
    const double d = input.as_double();
    if (std::isnan(d)) return dflt;
    // Python gives a big integer (or OverflowError for inf); int64 cannot hold it.
    if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return out_of_range("integer overflow");
    return Value::integer(static_cast<int64_t>(d));
  }
  if (!input.is_string()) return dflt;
  std::string s = py_strip(input.as_string(), nullptr, true, true);
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  if (!s.empty()) {
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, base);
    if (errno == 0 && end && *end == '\0') return Value::integer(v);
    const double d = std::strtod(s.c_str(), &end);
    if (end && *end == '\0' && std::isfinite(d) && std::fabs(d) < 9.2e18) {
      return Value::integer(static_cast<int64_t>(d));
    }
  }
  return dflt;
}

Result<Value> do_float(const Value& input, const Args& a) {
  JINJA_TRY(auto p, bind_args("float", a, {"default"}));
  if (input.is_undefined()) return undefined_error(input);  // float(Undefined) raises
  if (input.is_number()) return Value::real(input.as_double());
  if (input.is_string()) {
    const std::string s = py_strip(input.as_string(), nullptr, true, true);
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == '\0') return Value::real(d);
  }
  return arg_or(p[0], Value::real(0.0));
}

Result<Value> do_length(const Value& input) {
  switch (input.kind()) {
    case Kind::kUndefined:
      return Value::integer(0);
    case Kind::kString:
      return Value::integer(static_cast<int64_t>(utf8_length(input.as_string())));
    case Kind::kList:
      if (input.as_list_data().seq == Seq::kGenerator) break;
      return Value::integer(static_cast<int64_t>(input.as_list().size()));
    case Kind::kDict:
      return Value::integer(static_cast<int64_t>(input.as_dict().items.size()));
    default:
      break;
  }
  return type_error(std::string("object of type '") + type_name(input) + "' has no len()");
}

// jinja2's title filter (not str.title): words start after runs of whitespace or any of
// "-({[<"; each word gets its first character upper-cased and the rest lower-cased.
std::string jinja_title(const std::string& s) {
  auto is_sep = [](char32_t cp) {
    return py_is_space(cp) || cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<';
  };
  std::string out;
  size_t pos = 0;
  bool word_start = true;
  while (pos < s.size()) {
    const char32_t cp = utf8_next(s, &pos);
    std::string one;
    utf8_append(cp, &one);
    if (is_sep(cp)) {
      out += one;
      word_start = true;
    } else {
      out += word_start ? py_upper(one) : py_lower(one);
      word_start = false;
    }
  }
  return out;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace

Result<Value> apply_filter(Evaluator& ev, const std::string& name, const Value& input,
                           const Args& a) {
  TS_RETURN_IF_ERROR(ev.state().step());
  if (is_sequence_filter(name)) return apply_sequence_filter(ev, name, input, a);
  if (name == "format") {
    if (!a.positional.empty() && !a.keyword.empty()) {
      return type_error("can't handle positional and keyword arguments at the same time");
    }
    JINJA_TRY(std::string fmt, ev.to_str(input));
    Value args;
    if (!a.keyword.empty()) {
      auto d = std::make_shared<DictData>();
      for (const auto& [k, v] : a.keyword) d->set(Value::string(k), v);
      args = Value::dict(std::move(d));
    } else {
      args = Value::list(a.positional, true);
    }
    JINJA_TRY(std::string s, py_percent_format(fmt, args));
    TS_RETURN_IF_ERROR(ev.state().charge_bytes(s.size()));
    return Value::string(std::move(s));
  }
  if (name == "tojson") return do_tojson(ev, input, a);
  if (name == "length" || name == "count") return do_length(input);
  if (name == "default" || name == "d") {
    JINJA_TRY(auto p, bind_args(name, a, {"default_value", "boolean"}));
    const bool boolean = p[1] && truthy(*p[1]);
    if (input.is_undefined() || (boolean && !truthy(input))) return arg_or(p[0], Value::string(""));
    return input;
  }
  if (name == "trim") {
    JINJA_TRY(auto p, bind_args(name, a, {"chars"}));
    if (p[0] && !p[0]->is_none() && !p[0]->is_string()) return type_error("trim chars must be a string");
    JINJA_TRY(std::string s, ev.to_str(input));
    return Value::string(py_strip(s, p[0] && !p[0]->is_none() ? &p[0]->as_string() : nullptr, true, true));
  }
  if (name == "upper" || name == "lower" || name == "capitalize" || name == "title" ||
      name == "string" || name == "safe" || name == "e" || name == "escape") {
    JINJA_TRY(auto p, bind_args(name, a, {}));
    if (name == "safe" && !input.is_undefined()) return input;
    JINJA_TRY(std::string s, ev.to_str(input));
    if (name == "upper") return Value::string(py_upper(s));
    if (name == "lower") return Value::string(py_lower(s));
    if (name == "capitalize") return Value::string(py_capitalize(s));
    if (name == "title") return Value::string(jinja_title(s));
    if (name == "e" || name == "escape") return Value::string(html_escape(s));
    return Value::string(std::move(s));
  }
  if (name == "replace") {
    JINJA_TRY(auto p, bind_args(name, a, {"old", "new", "count"}));
    if (!p[0] || !p[1]) return type_error("replace() needs old and new");
    JINJA_TRY(std::string s, ev.to_str(input));
    JINJA_TRY(std::string old_s, ev.to_str(*p[0]));
    JINJA_TRY(std::string new_s, ev.to_str(*p[1]));
    const int64_t count = p[2] && p[2]->is_integral() ? p[2]->as_int() : -1;
    std::string out = py_replace(s, old_s, new_s, count);
    TS_RETURN_IF_ERROR(ev.state().charge_bytes(out.size()));
    return Value::string(std::move(out));
  }
  if (name == "first" || name == "last") {
    JINJA_TRY(auto p, bind_args(name, a, {}));
    if (name == "last" && input.is_list() && input.as_list_data().seq == Seq::kGenerator) {
      return type_error("'generator' object is not reversible");
    }
    JINJA_TRY(auto items, iterate(input));
    if (items->empty()) return Value::undefined("No " + name + " item, sequence was empty.");
    return name == "first" ? items->front() : items->back();
  }
  if (name == "list") {
    JINJA_TRY(auto p, bind_args(name, a, {}));
    JINJA_TRY(auto items, iterate(input));
    return Value::list(*items);
  }
  if (name == "reverse") {
    JINJA_TRY(auto p, bind_args(name, a, {}));
    if (input.is_string()) {
      auto cps = utf8_decode(input.as_string());
      std::reverse(cps.begin(), cps.end());
      return Value::string(utf8_encode(cps));
    }
    JINJA_TRY(auto items, iterate(input));
    // reversed() gives an iterator; for a generator jinja2 falls back to a reversed list.
    const bool lazy = !(input.is_list() && input.as_list_data().seq == Seq::kGenerator);
    return Value::sequence(std::vector<Value>(items->rbegin(), items->rend()),
                           lazy ? Seq::kGenerator : Seq::kList);
  }
  if (name == "int") return do_int(input, a);
  if (name == "float") return do_float(input, a);
  if (name == "abs") {
    if (input.kind() == Kind::kFloat) return Value::real(std::fabs(input.as_double()));
    if (input.is_integral()) {
      if (input.as_int() == INT64_MIN) return out_of_range("integer overflow");
      return Value::integer(input.as_int() < 0 ? -input.as_int() : input.as_int());
    }
    return type_error(std::string("bad operand type for abs(): '") + type_name(input) + "'");
  }
  if (name == "round") return do_round(input, a);
  if (name == "indent") return do_indent(ev, input, a);
  if (name == "attr") {
    JINJA_TRY(auto p, bind_args(name, a, {"name"}));
    if (!p[0] || !p[0]->is_string()) return type_error("attr name must be a string");
    return get_attr_only(input, p[0]->as_string());
  }
  return invalid_argument("No filter named '" + name + "'.");
}

}  // namespace trimserve::jinja
