#include "common/logging.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

using namespace trimserve;

namespace {

// Runs `body` with stderr (fd 2) redirected to a temporary file and returns what was written,
// split into lines. The real sink is exercised: it writes to the process's stderr.
template <class Body>
std::vector<std::string> capture_stderr(Body body) {
  const std::string path =
      (std::filesystem::temp_directory_path() /
       ("trimserve-logging-test-" + std::to_string(::getpid()) + ".txt"))
          .string();
  std::fflush(stderr);
  const int saved = ::dup(2);
  REQUIRE(saved >= 0);
  std::FILE* file = std::fopen(path.c_str(), "w");
  REQUIRE(file);
  ::dup2(::fileno(file), 2);
  body();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::fclose(file);

  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::filesystem::remove(path);
  return lines;
}

const std::regex kTimestamp(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");

}  // namespace

TEST_CASE("log level and format names parse exactly", "[common][logging]") {
  for (LogLevel level : {LogLevel::kTrace, LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn,
                         LogLevel::kError, LogLevel::kOff}) {
    Result<LogLevel> parsed = parse_log_level(log_level_name(level));
    REQUIRE(parsed.ok());
    CHECK(*parsed == level);
  }
  CHECK(*parse_log_format("plain") == LogFormat::kPlain);
  CHECK(*parse_log_format("json") == LogFormat::kJson);

  CHECK(parse_log_level("verbose").status().message() ==
        "unknown value 'verbose' (expected trace|debug|info|warn|error|off)");
  CHECK_FALSE(parse_log_level("INFO").ok());
  CHECK(parse_log_format("xml").status().message() == "unknown value 'xml' (expected plain|json)");

  Status bad = setup_logging("loud", "plain");
  CHECK(bad.code() == ErrorCode::kInvalidArgument);
  CHECK(bad.message() ==
        "log level: unknown value 'loud' (expected trace|debug|info|warn|error|off)");
  CHECK(setup_logging("info", "yaml").message() ==
        "log format: unknown value 'yaml' (expected plain|json)");
}

TEST_CASE("json format writes one valid JSON object per line", "[common][logging]") {
  REQUIRE(setup_logging("info", "json").ok());
  const std::string tricky =
      "quote\" backslash\\ newline\n tab\t ctrl\x01 bell\x07 utf8 é ✓ 🙂";
  const std::string invalid_utf8 = "bad \xff\xfe bytes \xc3( end \xed\xa0\x80";
  const auto lines = capture_stderr([&] {
    spdlog::info("hello {}", 42);
    spdlog::warn("{}", tricky);
    named_logger("kvpool")->error("{}", invalid_utf8);
    spdlog::debug("filtered out at info");
  });
  REQUIRE(lines.size() == 3);

  std::vector<nlohmann::json> records;
  for (const std::string& line : lines) {
    INFO(line);
    REQUIRE(nlohmann::json::accept(line));
    records.push_back(nlohmann::json::parse(line));
  }
  CHECK(records[0]["msg"] == "hello 42");
  CHECK(records[0]["level"] == "info");
  CHECK(records[0]["logger"] == "trimserve");
  CHECK(std::regex_match(records[0]["ts"].get<std::string>(), kTimestamp));
  CHECK(records[0].size() == 4);  // ts, level, logger, msg

  CHECK(records[1]["level"] == "warn");
  CHECK(records[1]["msg"] == tricky);  // escaped on the way out, identical when parsed

  CHECK(records[2]["level"] == "error");
  CHECK(records[2]["logger"] == "kvpool");
  // Invalid bytes become U+FFFD; the valid text around them survives.
  const std::string fffd = "\xef\xbf\xbd";  // U+FFFD in UTF-8
  CHECK(records[2]["msg"] ==
        "bad " + fffd + fffd + " bytes " + fffd + "( end " + fffd + fffd + fffd);
}

TEST_CASE("plain format: timestamp, level, logger, message", "[common][logging]") {
  setup_logging(LogLevel::kDebug, LogFormat::kPlain);
  const auto lines = capture_stderr([] {
    spdlog::debug("starting {}", "up");
    named_logger("http")->warn("slow client");
    spdlog::trace("filtered out at debug");
  });
  REQUIRE(lines.size() == 2);
  // The timestamp's shape is checked in the json test; here only its place in the line.
  const std::regex debug_line(R"(\S+Z debug \[trimserve\] starting up)");
  CHECK(std::regex_match(lines[0], debug_line));
  CHECK(std::regex_match(lines[0].substr(0, lines[0].find(' ')), kTimestamp));
  const std::regex warn_line(R"(\S+Z warn \[http\] slow client)");
  CHECK(std::regex_match(lines[1], warn_line));
}

TEST_CASE("setup_logging can be called again: last call wins, no duplicate output",
          "[common][logging]") {
  auto early = named_logger("engine");  // created before the reconfiguration below
  setup_logging(LogLevel::kInfo, LogFormat::kPlain);
  setup_logging(LogLevel::kInfo, LogFormat::kPlain);
  setup_logging(LogLevel::kWarn, LogFormat::kJson);
  CHECK(named_logger("engine") == early);  // one logger per name
  const auto lines = capture_stderr([&] {
    spdlog::info("below warn");
    early->info("below warn");
    early->warn("once");
    spdlog::error("twice?");
  });
  REQUIRE(lines.size() == 2);
  CHECK(nlohmann::json::parse(lines[0])["logger"] == "engine");
  CHECK(nlohmann::json::parse(lines[1])["msg"] == "twice?");

  setup_logging(LogLevel::kOff, LogFormat::kJson);
  CHECK(capture_stderr([&] {
          spdlog::error("silenced");
          early->error("silenced");
        }).empty());
  setup_logging(LogLevel::kInfo, LogFormat::kPlain);
}
