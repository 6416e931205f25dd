#include "server/api/json_fields.h"

#include <cmath>

namespace trimserve::api {

const char* json_type_name(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::object: return "object";
    case nlohmann::json::value_t::array: return "array";
    case nlohmann::json::value_t::string: return "string";
    case nlohmann::json::value_t::boolean: return "boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "integer";
    case nlohmann::json::value_t::number_float: return "number";
    default: return "binary";
  }
}

std::optional<int64_t> json_int64(const nlohmann::json& v) {
  if (!v.is_number_integer()) return std::nullopt;
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return std::nullopt;
  }
  return v.get<int64_t>();
}

const nlohmann::json* JsonFields::get(const char* name) const {
  auto it = j_.find(name);
  if (it == j_.end() || it->is_null()) return nullptr;
  return &*it;
}

bool JsonFields::type_error(const char* name, const char* expected) {
  error_ = bad_request(std::string("'") + name + "' must be " + expected + ", got " +
                           json_type_name(*get(name)),
                       name);
  return false;
}

bool JsonFields::number(const char* name, double& out) {
  const nlohmann::json* v = get(name);
  if (v == nullptr) return true;
  if (!v->is_number()) return type_error(name, "a number");
  out = v->get<double>();
  return true;
}

bool JsonFields::integer(const char* name, int64_t& out) {
  const nlohmann::json* v = get(name);
  if (v == nullptr) return true;
  // An integer too large for int64 is the right type with a wrong value: 422, not 400. (The
  // JSON parser stores integers beyond 2^64 as floats, so large whole floats count too.)
  auto out_of_range = [&] {
    error_ = unprocessable(std::string("'") + name + "' is out of range: " + v->dump() +
                               " is not in [-2^63, 2^63)",
                           name);
    return false;
  };
  if (v->is_number_integer()) {
    const std::optional<int64_t> i = json_int64(*v);
    if (!i) return out_of_range();
    out = *i;
    return true;
  }
  // 3.0 is accepted as 3 (JSON encoders differ); 3.5 is not an integer.
  if (v->is_number_float()) {
    const double d = v->get<double>();
    if (std::isfinite(d) && d == std::floor(d)) {
      if (std::fabs(d) >= 9.0e15) return out_of_range();  // beyond exact doubles
      out = static_cast<int64_t>(d);
      return true;
    }
  }
  return type_error(name, "an integer");
}

bool JsonFields::boolean(const char* name, bool& out) {
  const nlohmann::json* v = get(name);
  if (v == nullptr) return true;
  if (!v->is_boolean()) return type_error(name, "a boolean");
  out = v->get<bool>();
  return true;
}

bool JsonFields::string(const char* name, std::string& out) {
  const nlohmann::json* v = get(name);
  if (v == nullptr) return true;
  if (!v->is_string()) return type_error(name, "a string");
  out = v->get<std::string>();
  return true;
}

bool JsonFields::optional_string(const char* name, std::optional<std::string>& out) {
  std::string s;
  if (!has(name)) return true;
  if (!string(name, s)) return false;
  out = std::move(s);
  return true;
}

bool JsonFields::optional_integer(const char* name, std::optional<int64_t>& out) {
  int64_t v = 0;
  if (!has(name)) return true;
  if (!integer(name, v)) return false;
  out = v;
  return true;
}

bool JsonFields::strings(const char* name, std::vector<std::string>& out) {
  const nlohmann::json* v = get(name);
  if (v == nullptr) return true;
  if (v->is_string()) {
    out = {v->get<std::string>()};
    return true;
  }
  if (!v->is_array()) return type_error(name, "a string or an array of strings");
  std::vector<std::string> items;
  for (const auto& item : *v) {
    if (!item.is_string()) return type_error(name, "a string or an array of strings");
    items.push_back(item.get<std::string>());
  }
  out = std::move(items);
  return true;
}

}  // namespace trimserve::api
