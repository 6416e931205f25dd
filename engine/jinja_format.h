// Text forms of Values, byte-identical to Python: str(), repr(), and json.dumps() as used by
// transformers' `tojson` filter (ensure_ascii=False by default, no HTML escaping).
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "engine/jinja_value.h"

namespace trimserve::jinja {

// Python repr(float): shortest round-trip digits, "1e+16" / "0.0001" / "1.0" / "nan" / "inf".
std::string py_float_repr(double d);

// Python str(v): what `{{ v }}` prints. Undefined prints "", None prints "None", booleans
// "True"/"False", containers their repr.
std::string py_str(const Value& v);

// Python repr(v): strings quoted the way Python picks quotes and escapes.
std::string py_repr(const Value& v);

struct JsonOptions {
  bool ensure_ascii = false;
  // json.dumps(indent=...): nullopt = single line; otherwise the per-level indent string
  // (an int n becomes n spaces).
  std::optional<std::string> indent;
  // json.dumps(separators=...): defaults depend on indent, as in Python.
  std::optional<std::string> item_separator;
  std::optional<std::string> key_separator;
  bool sort_keys = false;
};

// json.dumps(v, **options). Errors (as Python's TypeError) for Undefined, namespaces,
// callables and dict keys that JSON cannot represent; and when output passes max_bytes.
Result<std::string> to_json(const Value& v, const JsonOptions& options, size_t max_bytes);

}  // namespace trimserve::jinja
