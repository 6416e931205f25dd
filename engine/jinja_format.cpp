#include "engine/jinja_format.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "engine/jinja_utf8.h"

namespace trimserve::jinja {

namespace {

// repr() of nested namespaces may cycle (ns.self = ns); past this depth print "...".
constexpr int kMaxReprDepth = 256;

void append_hex(uint32_t v, int digits, std::string* out) {
  static const char* kHex = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) out->push_back(kHex[(v >> (4 * i)) & 0xF]);
}

void repr_string(const std::string& s, std::string* out) {
  const bool has_single = s.find('\'') != std::string::npos;
  const bool has_double = s.find('"') != std::string::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  out->push_back(quote);
  size_t pos = 0;
  while (pos < s.size()) {
    const char32_t cp = utf8_next(s, &pos);
    if (cp == static_cast<char32_t>(quote) || cp == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(cp));
    } else if (cp == '\t') {
      out->append("\\t");
    } else if (cp == '\n') {
      out->append("\\n");
    } else if (cp == '\r') {
      out->append("\\r");
    } else if (cp < 0x20 || cp == 0x7F) {
      out->append("\\x");
      append_hex(cp, 2, out);
    } else if (cp < 0x7F || py_is_printable(cp)) {
      utf8_append(cp, out);
    } else if (cp <= 0xFF) {
      out->append("\\x");
      append_hex(cp, 2, out);
    } else if (cp <= 0xFFFF) {
      out->append("\\u");
      append_hex(cp, 4, out);
    } else {
      out->append("\\U");
      append_hex(cp, 8, out);
    }
  }
  out->push_back(quote);
}

void repr_into(const Value& v, int depth, std::string* out);

void repr_items(const Value& v, int depth, std::string* out) {
  const auto& data = v.as_list_data();
  if (data.seq == Seq::kGenerator) {  // CPython prints an address here; no output can match
    out->append("<generator object>");
    return;
  }
  const bool view = !data.is_plain();
  if (view) out->append(type_name(v)).append("(");
  out->push_back(data.is_tuple() ? '(' : '[');
  for (size_t i = 0; i < data.items.size(); ++i) {
    if (i > 0) out->append(", ");
    repr_into(data.items[i], depth + 1, out);
  }
  if (data.is_tuple() && data.items.size() == 1) out->push_back(',');
  out->push_back(data.is_tuple() ? ')' : ']');
  if (view) out->append(")");
}

void repr_dict(const DictData& d, int depth, std::string* out) {
  out->push_back('{');
  bool first = true;
  for (const auto& [k, v] : d.items) {
    if (!first) out->append(", ");
    first = false;
    repr_into(k, depth + 1, out);
    out->append(": ");
    repr_into(v, depth + 1, out);
  }
  out->push_back('}');
}

void repr_into(const Value& v, int depth, std::string* out) {
  if (depth > kMaxReprDepth) {
    out->append("...");
    return;
  }
  switch (v.kind()) {
    case Kind::kString:
      repr_string(v.as_string(), out);
      return;
    case Kind::kList:
      repr_items(v, depth, out);
      return;
    case Kind::kDict:
      repr_dict(v.as_dict(), depth, out);
      return;
    case Kind::kNamespace:
      out->append("<Namespace ");
      repr_dict(v.as_namespace(), depth, out);
      out->push_back('>');
      return;
    case Kind::kUndefined:
      out->append("Undefined");
      return;
    default:
      out->append(py_str(v));
  }
}

void json_string(const std::string& s, bool ensure_ascii, std::string* out) {
  out->push_back('"');
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t at = pos;
    const char32_t cp = utf8_next(s, &pos);
    switch (cp) {
      case '"':
        out->append("\\\"");
        continue;
      case '\\':
        out->append("\\\\");
        continue;
      case '\n':
        out->append("\\n");
        continue;
      case '\r':
        out->append("\\r");
        continue;
      case '\t':
        out->append("\\t");
        continue;
      case '\b':
        out->append("\\b");
        continue;
      case '\f':
        out->append("\\f");
        continue;
      default:
        break;
    }
    if (cp < 0x20 || (ensure_ascii && cp > 0x7E)) {
      if (cp > 0xFFFF) {
        const char32_t v = cp - 0x10000;
        out->append("\\u");
        append_hex(0xD800 + (v >> 10), 4, out);
        out->append("\\u");
        append_hex(0xDC00 + (v & 0x3FF), 4, out);
      } else {
        out->append("\\u");
        append_hex(cp, 4, out);
      }
      continue;
    }
    out->append(s, at, pos - at);
  }
  out->push_back('"');
}

std::string json_float(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return py_float_repr(d);
}

class JsonWriter {
 public:
  JsonWriter(const JsonOptions& o, size_t max_bytes) : o_(o), max_bytes_(max_bytes) {
    item_sep_ = o.item_separator.value_or(o.indent ? "," : ", ");
    key_sep_ = o.key_separator.value_or(": ");
  }

  Status write(const Value& v, int level) {
    if (out_.size() > max_bytes_) return resource_exhausted("tojson output exceeds the size limit");
    switch (v.kind()) {
      case Kind::kNone:
        out_.append("null");
        return Status();
      case Kind::kBool:
        out_.append(v.as_bool() ? "true" : "false");
        return Status();
      case Kind::kInt:
        out_.append(std::to_string(v.as_int()));
        return Status();
      case Kind::kFloat:
        out_.append(json_float(v.as_double()));
        return Status();
      case Kind::kString:
        json_string(v.as_string(), o_.ensure_ascii, &out_);
        return Status();
      case Kind::kList:
        if (!v.as_list_data().is_plain()) break;
        return write_list(v.as_list(), level);
      case Kind::kDict:
        return write_dict(v.as_dict(), level);
      default:
        break;
    }
    return invalid_argument(std::string("Object of type ") + type_name(v) +
                            " is not JSON serializable");
  }

  std::string take() { return std::move(out_); }

 private:
  void newline(int level) {
    if (!o_.indent) return;
    out_.push_back('\n');
    for (int i = 0; i < level; ++i) out_.append(*o_.indent);
  }

  Status write_list(const std::vector<Value>& items, int level) {
    if (items.empty()) {
      out_.append("[]");
      return Status();
    }
    out_.push_back('[');
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out_.append(item_sep_);
      newline(level + 1);
      TS_RETURN_IF_ERROR(write(items[i], level + 1));
    }
    newline(level);
    out_.push_back(']');
    return Status();
  }

  Result<std::string> key_text(const Value& k) {
    switch (k.kind()) {
      case Kind::kString:
        return k.as_string();
      case Kind::kInt:
        return std::to_string(k.as_int());
      case Kind::kFloat:
        return json_float(k.as_double());
      case Kind::kBool:
        return std::string(k.as_bool() ? "true" : "false");
      case Kind::kNone:
        return std::string("null");
      default:
        return invalid_argument(std::string("keys must be str, int, float, bool or None, not ") +
                                type_name(k));
    }
  }

  Status write_dict(const DictData& d, int level) {
    if (d.items.empty()) {
      out_.append("{}");
      return Status();
    }
    std::vector<const std::pair<Value, Value>*> order;
    order.reserve(d.items.size());
    for (const auto& kv : d.items) order.push_back(&kv);
    if (o_.sort_keys) {
      Status err;
      std::stable_sort(order.begin(), order.end(), [&](const auto* a, const auto* b) {
        auto c = compare(a->first, b->first);
        if (!c.ok()) {
          if (err.ok()) err = c.status();
          return false;
        }
        return *c < 0;
      });
      TS_RETURN_IF_ERROR(err);
    }
    out_.push_back('{');
    bool first = true;
    for (const auto* kv : order) {
      if (!first) out_.append(item_sep_);
      first = false;
      newline(level + 1);
      auto key = key_text(kv->first);
      if (!key.ok()) return key.status();
      json_string(*key, o_.ensure_ascii, &out_);
      out_.append(key_sep_);
      TS_RETURN_IF_ERROR(write(kv->second, level + 1));
    }
    newline(level);
    out_.push_back('}');
    return Status();
  }

  const JsonOptions& o_;
  size_t max_bytes_;
  std::string item_sep_;
  std::string key_sep_;
  std::string out_;
};

}  // namespace

std::string py_float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));  // "-1.2345e+17"
  std::string out;
  if (!sci.empty() && sci[0] == '-') {
    out.push_back('-');
    sci.remove_prefix(1);
  }
  const size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  const int exp10 = std::atoi(std::string(sci.substr(e + 1)).c_str());
  const int decpt = exp10 + 1;  // value = 0.DIGITS * 10^decpt
  const int n = static_cast<int>(digits.size());
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out.append("0.").append(static_cast<size_t>(-decpt), '0').append(digits);
    } else if (decpt >= n) {
      out.append(digits).append(static_cast<size_t>(decpt - n), '0').append(".0");
    } else {
      out.append(digits, 0, static_cast<size_t>(decpt)).push_back('.');
      out.append(digits, static_cast<size_t>(decpt), std::string::npos);
    }
    return out;
  }
  out.push_back(digits[0]);
  if (n > 1) out.append(".").append(digits, 1, std::string::npos);
  const int x = decpt - 1;
  char exp_buf[16];
  std::snprintf(exp_buf, sizeof(exp_buf), "e%c%02d", x < 0 ? '-' : '+', x < 0 ? -x : x);
  out.append(exp_buf);
  return out;
}

std::string py_str(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
      return "";
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return v.as_bool() ? "True" : "False";
    case Kind::kInt:
      return std::to_string(v.as_int());
    case Kind::kFloat:
      return py_float_repr(v.as_double());
    case Kind::kString:
      return v.as_string();
    case Kind::kLoop:
      return "<LoopContext>";
    case Kind::kCallable:
      return "<function " + v.as_callable().name + ">";
    default: {
      std::string out;
      repr_into(v, 0, &out);
      return out;
    }
  }
}

std::string py_repr(const Value& v) {
  std::string out;
  repr_into(v, 0, &out);
  return out;
}

Result<std::string> to_json(const Value& v, const JsonOptions& options, size_t max_bytes) {
  JsonWriter w(options, max_bytes);
  TS_RETURN_IF_ERROR(w.write(v, 0));
  std::string s = w.take();
  if (s.size() > max_bytes) return resource_exhausted("tojson output exceeds the size limit");
  return s;
}

}  // namespace trimserve::jinja
