// Helpers shared by the config tests: parse YAML text as "t.yaml" and expect success or
// failure.
#pragma once

#include <catch2/catch.hpp>

#include <string>

#include "config/config_loader.h"

namespace trimserve::testing {

// Parses `yaml` as "t.yaml" and returns the error message (the parse must fail).
inline std::string error_of(const std::string& yaml) {
  Result<DaemonConfig> result = parse_config(yaml, "t.yaml");
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == ErrorCode::kInvalidArgument);
  return result.status().message();
}

inline DaemonConfig parsed(const std::string& yaml) {
  Result<DaemonConfig> result = parse_config(yaml, "t.yaml");
  INFO((result.ok() ? std::string() : result.status().message()));
  REQUIRE(result.ok());
  return *result;
}

}  // namespace trimserve::testing
