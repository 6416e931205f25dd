// Typed reads of a JSON request body's optional fields, with OpenAI-shaped errors: a field of
// the wrong JSON type is 400 naming the field ("'temperature' must be a number, got string");
// unknown fields are ignored, as OpenAI does. Range checks are the caller's (422).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/api/api_error.h"

namespace trimserve::api {

class JsonFields {
 public:
  explicit JsonFields(const nlohmann::json& object) : j_(object) {}

  // Each returns false (and sets error()) on a type error; absent or null leaves `out` alone.
  bool number(const char* name, double& out);
  bool integer(const char* name, int64_t& out);
  bool boolean(const char* name, bool& out);
  bool string(const char* name, std::string& out);
  bool optional_string(const char* name, std::optional<std::string>& out);
  bool optional_integer(const char* name, std::optional<int64_t>& out);
  // A string or an array of strings (OpenAI's `stop`).
  bool strings(const char* name, std::vector<std::string>& out);
  bool has(const char* name) const { return j_.contains(name) && !j_.at(name).is_null(); }

  const ApiError& error() const { return error_; }

 private:
  const nlohmann::json* get(const char* name) const;
  bool type_error(const char* name, const char* expected);

  const nlohmann::json& j_;
  ApiError error_;
};

// A JSON integer as int64; nullopt when it is not an integer or does not fit (>= 2^63).
std::optional<int64_t> json_int64(const nlohmann::json& v);

// "string", "number", "object", ... as JSON calls them.
const char* json_type_name(const nlohmann::json& v);

}  // namespace trimserve::api
