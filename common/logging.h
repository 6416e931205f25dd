// Process-wide logging on spdlog: one stderr sink shared by every named logger, in one of two
// line formats.
//
//   plain: 2025-01-31T12:00:00.123Z info [trimserve] listening http=127.0.0.1:8080 ...
//   json:  {"ts":"2025-01-31T12:00:00.123Z","level":"info","logger":"trimserve","msg":"..."}
//
// Timestamps are UTC with milliseconds. In json mode every record is exactly one line holding
// one JSON object (control characters, quotes and invalid UTF-8 in messages are escaped or
// replaced), so log shippers can parse stderr line by line.
//
// Threading: setup_logging() may be called from any thread, any number of times (the last
// call wins; it reconfigures the existing sink and loggers instead of adding new ones).
// Logging itself (spdlog::info(...), named_logger("x")->warn(...)) is thread-safe. Before
// the first setup_logging() call, spdlog's own default logger is in effect.
//
// This header deliberately does not include spdlog, so that config/ and other plain-struct
// headers can name LogLevel/LogFormat cheaply.
#pragma once

#include <memory>
#include <string_view>

#include "common/status.h"

namespace spdlog {
class logger;
}

namespace trimserve {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kOff };
enum class LogFormat { kPlain, kJson };

const char* log_level_name(LogLevel level);     // "trace" | "debug" | ... | "off"
const char* log_format_name(LogFormat format);  // "plain" | "json"

// Exact, case-sensitive names as above. Error text (callers prefix the key or flag):
//   "unknown value 'verbose' (expected trace|debug|info|warn|error|off)".
Result<LogLevel> parse_log_level(std::string_view text);
Result<LogFormat> parse_log_format(std::string_view text);

// Installs (or reconfigures) the stderr sink, the level and the format of every trimserve
// logger, and makes the "trimserve" logger spdlog's default one.
void setup_logging(LogLevel level, LogFormat format);

// Same, from text (e.g. command-line flags). On an unknown name nothing changes.
Status setup_logging(std::string_view level, std::string_view format);

// The logger called `name` ("kvpool", "http", ...), created on first use with the shared
// sink and the current level and format. The name appears in every record it writes.
std::shared_ptr<spdlog::logger> named_logger(std::string_view name);

}  // namespace trimserve
