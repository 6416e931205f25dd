// CliArgs: the tiny flag parser shared by trimserve's subcommands.
//
// Accepts `--name value`, `--name=value` and boolean `--flag`. Every flag must be declared;
// an undeclared flag, a missing value or a malformed number is a usage error whose message
// names the flag (the command prints it and exits 2).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace trimserve::cli {

class CliArgs {
 public:
  // `value_flags` take a value; `bool_flags` do not. Names without the leading "--".
  CliArgs(std::vector<std::string> value_flags, std::vector<std::string> bool_flags);

  // Parses argv[1..argc) (argv[0] is the subcommand name). Positional arguments are rejected.
  Status parse(int argc, char** argv);

  bool has(const std::string& name) const;
  std::optional<std::string> get(const std::string& name) const;
  std::string get_or(const std::string& name, const std::string& fallback) const;

  // Typed accessors: nullopt when absent; kInvalidArgument ("--top-p: expected a number, got
  // 'x'") when present but malformed.
  Result<std::optional<int64_t>> get_int(const std::string& name) const;
  // Overwrite `dst` when the flag is present (defaults stay otherwise); errors as get_int.
  Status read_int(const std::string& name, int64_t& dst) const;
  Status read_double(const std::string& name, double& dst) const;
  Result<std::optional<double>> get_double(const std::string& name) const;
  // "1,2,3" -> {1,2,3}
  Result<std::optional<std::vector<int64_t>>> get_int_list(const std::string& name) const;

 private:
  std::vector<std::string> value_flags_;
  std::vector<std::string> bool_flags_;
  std::map<std::string, std::string> values_;
};

}  // namespace trimserve::cli
