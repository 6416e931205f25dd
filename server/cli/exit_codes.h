// Process exit codes of every subcommand (DESIGN.md §6) and the mapping from a Status.
#pragma once

#include <cstdio>

#include "common/status.h"

namespace trimserve::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;  // the input was well-formed but something failed
inline constexpr int kExitUsage = 2;    // bad flags, bad config, bad model/user input

// Bad input of the user's making (flags, paths, config files, prompts) is a usage error;
// corrupt data, exhausted resources and bugs are runtime errors.
inline int exit_code_for(const Status& s) {
  switch (s.code()) {
    case ErrorCode::kOk: return kExitOk;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kNotFound:
    case ErrorCode::kOutOfRange:
    case ErrorCode::kUnimplemented:
    case ErrorCode::kFailedPrecondition:
      return kExitUsage;
    default:
      return kExitRuntime;
  }
}

// Prints "trimserve <command>: <message>" on one line of stderr; returns the exit code.
inline int report(const char* command, const Status& s) {
  std::fprintf(stderr, "trimserve %s: %s\n", command, s.message().c_str());
  return exit_code_for(s);
}

}  // namespace trimserve::cli
