// Python printf-style formatting: `fmt % args` and the `format` filter.
//
// Supports %(name)s mapping keys, the flags - + space # 0, width and precision (numbers or
// *), and the conversions s r a d i u f F e E g G x X o c %. A tuple supplies positional
// arguments, a dict named ones, anything else is a single argument, as in Python.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <optional>

#include "engine/jinja_format.h"
#include "engine/jinja_result.h"
#include "engine/jinja_runtime.h"
#include "engine/jinja_utf8.h"

namespace trimserve::jinja {

namespace {

struct Spec {
  std::string flags;
  int width = -1;
  int precision = -1;
  char conv = 0;
};

// Pads `s` to the field width in code points.
std::string pad(std::string s, const Spec& spec) {
  const size_t len = utf8_length(s);
  if (spec.width < 0 || len >= static_cast<size_t>(spec.width)) return s;
  const std::string fill(static_cast<size_t>(spec.width) - len, ' ');
  return spec.flags.find('-') != std::string::npos ? s + fill : fill + s;
}

Result<std::string> format_number(const Value& v, const Spec& spec) {
  const char c = spec.conv;
  const bool integer_conv = c == 'd' || c == 'i' || c == 'u' || c == 'x' || c == 'X' || c == 'o' || c == 'c';
  if (!v.is_number()) {
    return type_error(std::string("%") + c + " format: a " + (integer_conv ? "number" : "real number") +
                      " is required, not " + type_name(v));
  }
  std::string fmt = "%" + spec.flags;
  if (spec.width >= 0) fmt += std::to_string(spec.width);
  if (spec.precision >= 0) fmt += "." + std::to_string(spec.precision);
  char buf[512];
  if (c == 'c') {
    if (!v.is_integral() || v.as_int() < 0 || v.as_int() > 0x10FFFF) return type_error("%c requires an int in range");
    std::string s;
    utf8_append(static_cast<char32_t>(v.as_int()), &s);
    return pad(s, spec);
  }
  if (integer_conv) {
    double d = v.as_double();
    int64_t i = v.is_integral() ? v.as_int() : 0;
    if (!v.is_integral()) {
      if (c != 'd' && c != 'i' && c != 'u') return type_error(std::string("%") + c + " format: an integer is required, not float");
      if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return out_of_range("integer overflow");
      i = static_cast<int64_t>(d);  // Python truncates floats for %d
    }
    const char conv = c == 'i' || c == 'u' ? 'd' : c;
    if (conv == 'd') {
      std::snprintf(buf, sizeof(buf), (fmt + "lld").c_str(), static_cast<long long>(i));
    } else {
      // Python formats the magnitude and prefixes the sign; C would print two's complement.
      const unsigned long long mag = i < 0 ? 0ULL - static_cast<unsigned long long>(i) : static_cast<unsigned long long>(i);
      std::string digits;
      std::snprintf(buf, sizeof(buf), (std::string("%") + (spec.precision >= 0 ? "." + std::to_string(spec.precision) : "") + "ll" + conv).c_str(), mag);
      digits = buf;
      std::string prefix = i < 0 ? "-" : spec.flags.find('+') != std::string::npos ? "+" : spec.flags.find(' ') != std::string::npos ? " " : "";
      if (spec.flags.find('#') != std::string::npos) prefix += conv == 'o' ? "0o" : conv == 'x' ? "0x" : "0X";
      std::string body = prefix + digits;
      if (spec.width >= 0 && body.size() < static_cast<size_t>(spec.width) &&
          spec.flags.find('0') != std::string::npos && spec.flags.find('-') == std::string::npos) {
        body = prefix + std::string(static_cast<size_t>(spec.width) - body.size(), '0') + digits;
      }
      Spec plain = spec;
      return pad(body, plain);
    }
    return std::string(buf);
  }
  std::snprintf(buf, sizeof(buf), (fmt + c).c_str(), v.as_double());
  std::string s = buf;
  if (!std::isfinite(v.as_double())) {  // Python spells these nan/inf (NAN/INF for upper-case)
    std::string lower = py_lower(s);
    const bool upper = c == 'F' || c == 'E' || c == 'G';
    s = upper ? py_upper(lower) : lower;
  }
  return s;
}

}  // namespace

Result<std::string> py_percent_format(const std::string& fmt, const Value& args) {
  std::vector<Value> positional;
  const DictData* mapping = nullptr;
  // CPython treats any non-tuple, non-str argument with __getitem__ as a mapping: surplus
  // arguments are then not an error.
  bool mapping_like = false;
  if (args.is_list() && args.as_list_data().is_tuple()) {
    positional = args.as_list();
  } else {
    if (args.is_dict()) mapping = &args.as_dict();
    mapping_like = args.is_dict() || args.is_undefined() ||
                   (args.is_list() && args.as_list_data().is_plain());
    positional.push_back(args);
  }
  size_t next_arg = 0;
  auto take = [&]() -> Result<Value> {
    if (next_arg >= positional.size()) return type_error("not enough arguments for format string");
    return positional[next_arg++];
  };
  std::string out;
  bool used_mapping = false;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out.push_back(fmt[i]);
      continue;
    }
    if (++i >= fmt.size()) return invalid_argument("incomplete format");
    Spec spec;
    std::optional<Value> keyed;
    if (fmt[i] == '(') {
      const size_t close = fmt.find(')', i);
      if (close == std::string::npos) return invalid_argument("incomplete format key");
      if (mapping == nullptr) return type_error("format requires a mapping");
      const Value* v = mapping->find(std::string_view(fmt).substr(i + 1, close - i - 1));
      if (v == nullptr) return invalid_argument("KeyError: '" + fmt.substr(i + 1, close - i - 1) + "'");
      keyed = *v;
      used_mapping = true;
      i = close + 1;
    }
    while (i < fmt.size() && std::string("-+ #0").find(fmt[i]) != std::string::npos) spec.flags += fmt[i++];
    auto number = [&](int* field) -> Status {
      if (i < fmt.size() && fmt[i] == '*') {
        JINJA_TRY(Value w, take());
        if (!w.is_integral()) return type_error("* wants int");
        *field = static_cast<int>(std::min<int64_t>(w.as_int(), 4096));
        ++i;
        return Status();
      }
      if (i < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[i]))) {
        int n = 0;
        while (i < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[i]))) n = std::min(n * 10 + (fmt[i++] - '0'), 4096);
        *field = n;
      }
      return Status();
    };
    TS_RETURN_IF_ERROR(number(&spec.width));
    if (i < fmt.size() && fmt[i] == '.') {
      ++i;
      spec.precision = 0;
      TS_RETURN_IF_ERROR(number(&spec.precision));
    }
    while (i < fmt.size() && (fmt[i] == 'h' || fmt[i] == 'l' || fmt[i] == 'L')) ++i;  // ignored
    if (i >= fmt.size()) return invalid_argument("incomplete format");
    spec.conv = fmt[i];
    if (spec.conv == '%') {
      out.push_back('%');
      continue;
    }
    Value v;
    if (keyed) {
      v = *keyed;
    } else {
      JINJA_TRY(v, take());
    }
    switch (spec.conv) {
      case 's':
      case 'r':
      case 'a': {
        if (v.is_undefined() && spec.conv == 's') {
          v = Value::string("");
        }
        std::string s = spec.conv == 's' ? py_str(v) : py_repr(v);
        if (spec.precision >= 0) {
          auto cps = utf8_decode(s);
          if (cps.size() > static_cast<size_t>(spec.precision)) cps.resize(static_cast<size_t>(spec.precision));
          s = utf8_encode(cps);
        }
        out += pad(std::move(s), spec);
        break;
      }
      case 'd': case 'i': case 'u': case 'x': case 'X': case 'o': case 'c':
      case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': {
        JINJA_TRY(std::string s, format_number(v, spec));
        out += s;
        break;
      }
      default:
        return invalid_argument(std::string("unsupported format character '") + spec.conv + "'");
    }
  }
  if (next_arg < positional.size() && !mapping_like && !used_mapping) {
    return type_error("not all arguments converted during string formatting");
  }
  return out;
}

}  // namespace trimserve::jinja
