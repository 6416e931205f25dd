#include "common/logging.h"

#include "common/utf8_valid.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>
#include <vector>

namespace trimserve {
namespace {

constexpr LogLevel kAllLevels[] = {LogLevel::kTrace, LogLevel::kDebug, LogLevel::kInfo,
                                   LogLevel::kWarn,  LogLevel::kError, LogLevel::kOff};
constexpr LogFormat kAllFormats[] = {LogFormat::kPlain, LogFormat::kJson};

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return spdlog::level::trace;
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
    case LogLevel::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}

// Our names, not spdlog's ("warning", "error"), so plain and json agree with the config values.
std::string_view record_level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "critical";
    default: return "off";
  }
}

void append(spdlog::memory_buf_t& dest, std::string_view text) {
  dest.append(text.data(), text.data() + text.size());
}

// "2025-01-31T12:00:00.123Z"
void append_utc_timestamp(spdlog::memory_buf_t& dest, spdlog::log_clock::time_point time) {
  using namespace std::chrono;
  const auto since_epoch = time.time_since_epoch();
  const auto secs = duration_cast<seconds>(since_epoch);
  // Floor, so that times before the epoch (a broken clock) still print a valid timestamp.
  auto millis = duration_cast<milliseconds>(since_epoch - secs).count();
  std::time_t t = static_cast<std::time_t>(secs.count());
  if (millis < 0) {
    millis += 1000;
    t -= 1;
  }
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                        static_cast<int>(millis));
  dest.append(buf, buf + n);
}


// Appends `text` as the inside of a JSON string. Invalid UTF-8 becomes U+FFFD so that one bad
// byte in a logged prompt cannot make the whole line unparsable.
void append_json_escaped(spdlog::memory_buf_t& dest, std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      size_t len = utf8_sequence_length(text, i);
      if (len == 0) {
        append(dest, "\\ufffd");
        i += 1;
      } else {
        append(dest, text.substr(i, len));
        i += len;
      }
      continue;
    }
    switch (c) {
      case '"': append(dest, "\\\""); break;
      case '\\': append(dest, "\\\\"); break;
      case '\n': append(dest, "\\n"); break;
      case '\r': append(dest, "\\r"); break;
      case '\t': append(dest, "\\t"); break;
      case '\b': append(dest, "\\b"); break;
      case '\f': append(dest, "\\f"); break;
      default:
        if (c < 0x20) {
          char buf[8];
          int n = std::snprintf(buf, sizeof buf, "\\u%04x", c);
          dest.append(buf, buf + n);
        } else {
          dest.push_back(static_cast<char>(c));
        }
    }
    i += 1;
  }
}

class LineFormatter final : public spdlog::formatter {
 public:
  explicit LineFormatter(LogFormat format) : format_(format) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string_view logger(msg.logger_name.data(), msg.logger_name.size());
    const std::string_view text(msg.payload.data(), msg.payload.size());
    if (format_ == LogFormat::kJson) {
      append(dest, "{\"ts\":\"");
      append_utc_timestamp(dest, msg.time);
      append(dest, "\",\"level\":\"");
      append(dest, record_level_name(msg.level));
      append(dest, "\",\"logger\":\"");
      append_json_escaped(dest, logger);
      append(dest, "\",\"msg\":\"");
      append_json_escaped(dest, text);
      append(dest, "\"}\n");
    } else {
      append_utc_timestamp(dest, msg.time);
      dest.push_back(' ');
      append(dest, record_level_name(msg.level));
      append(dest, " [");
      append(dest, logger);
      append(dest, "] ");
      append(dest, text);
      dest.push_back('\n');
    }
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<LineFormatter>(format_);
  }

 private:
  LogFormat format_;
};

// The one sink and the loggers made on it. Guarded by `mutex`; the loggers themselves are
// thread-safe, so only creation and reconfiguration take the lock.
struct LoggingState {
  std::mutex mutex;
  std::shared_ptr<spdlog::sinks::stderr_sink_mt> sink;
  std::vector<std::shared_ptr<spdlog::logger>> loggers;
  LogLevel level = LogLevel::kInfo;
  bool default_installed = false;
};

LoggingState& state() {
  static LoggingState* s = new LoggingState();  // never destroyed: loggers outlive statics
  return *s;
}

void ensure_sink_locked(LoggingState& s) {
  if (s.sink) return;
  s.sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  s.sink->set_formatter(std::make_unique<LineFormatter>(LogFormat::kPlain));
}

std::shared_ptr<spdlog::logger> logger_locked(LoggingState& s, const std::string& name) {
  for (const auto& logger : s.loggers) {
    if (logger->name() == name) return logger;
  }
  ensure_sink_locked(s);
  auto logger = std::make_shared<spdlog::logger>(name, s.sink);
  logger->set_level(to_spdlog(s.level));
  s.loggers.push_back(logger);
  // Registered so spdlog::get(name) finds it too; another component may already have
  // registered that name with spdlog directly, in which case ours simply stays unregistered.
  try {
    spdlog::register_logger(logger);
  } catch (const spdlog::spdlog_ex&) {
  }
  return logger;
}

}  // namespace

const char* log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return "trace";
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
    case LogLevel::kOff: return "off";
  }
  return "?";
}

const char* log_format_name(LogFormat format) {
  switch (format) {
    case LogFormat::kPlain: return "plain";
    case LogFormat::kJson: return "json";
  }
  return "?";
}

Result<LogLevel> parse_log_level(std::string_view text) {
  for (LogLevel level : kAllLevels) {
    if (text == log_level_name(level)) return level;
  }
  return invalid_argument("unknown value '" + std::string(text) +
                          "' (expected trace|debug|info|warn|error|off)");
}

Result<LogFormat> parse_log_format(std::string_view text) {
  for (LogFormat format : kAllFormats) {
    if (text == log_format_name(format)) return format;
  }
  return invalid_argument("unknown value '" + std::string(text) + "' (expected plain|json)");
}

void setup_logging(LogLevel level, LogFormat format) {
  LoggingState& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  ensure_sink_locked(s);
  s.level = level;
  // Every trimserve logger writes through this one sink, so one formatter serves them all.
  s.sink->set_formatter(std::make_unique<LineFormatter>(format));
  auto main_logger = logger_locked(s, "trimserve");
  for (const auto& logger : s.loggers) logger->set_level(to_spdlog(level));
  // spdlog forbids swapping the default logger while other threads log through it, so it
  // is installed once; later calls only reconfigure it.
  if (!s.default_installed) {
    spdlog::set_default_logger(main_logger);
    s.default_installed = true;
  }
}

Status setup_logging(std::string_view level, std::string_view format) {
  Result<LogLevel> parsed_level = parse_log_level(level);
  if (!parsed_level.ok()) return parsed_level.status().with_context("log level");
  Result<LogFormat> parsed_format = parse_log_format(format);
  if (!parsed_format.ok()) return parsed_format.status().with_context("log format");
  setup_logging(*parsed_level, *parsed_format);
  return Status();
}

std::shared_ptr<spdlog::logger> named_logger(std::string_view name) {
  LoggingState& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return logger_locked(s, std::string(name));
}

}  // namespace trimserve
