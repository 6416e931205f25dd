// Shared pieces of the HTTP server tests: a served HttpServer on 127.0.0.1 (any free port),
// small limits so the limit tests stay fast, request builders and the error-body check.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include <catch2/catch.hpp>

#include "server/http/http_server.h"
#include "tests/http/raw_http_client.h"

namespace trimserve::testing {

inline http::HttpLimits small_limits() {
  http::HttpLimits limits;
  limits.max_body_bytes = 1024;
  limits.max_header_bytes = 1024;
  limits.read_timeout_s = 2;
  limits.idle_timeout_s = 5;
  limits.write_timeout_s = 2;
  return limits;
}

// Answers every request with what it received, so tests can see the parsed request.
inline void echo_handler(http::HttpRequest request,
                         std::shared_ptr<http::ResponseWriter> writer) {
  std::string body = request.method + " " + request.target + " path=" + request.path +
                     " x-test=" + request.header("x-test") + " body=" + request.body;
  writer->send(200, "text/plain", std::move(body), {{"X-Echo", "yes"}});
}

struct ServedHttp {
  explicit ServedHttp(http::Handler handler, http::HttpLimits limits = small_limits(),
                      int threads = 2, http::TransportErrorObserver on_transport_error = {})
      : server(std::move(handler), limits, threads, nullptr, std::move(on_transport_error)) {
    Status listening = server.listen("127.0.0.1", 0);
    REQUIRE(listening.ok());
  }
  int port() const { return server.port(); }

  http::HttpServer server;
};

inline std::string get_request(const std::string& target, const std::string& fields = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + fields + "\r\n";
}

inline std::string post_request(const std::string& target, const std::string& body,
                                const std::string& fields = "") {
  return "POST " + target + " HTTP/1.1\r\nHost: test\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + fields + "\r\n" + body;
}

// An OpenAI-shaped transport error, byte for byte.
inline void check_error(const RawResponse& response, int status, const std::string& message,
                        const std::string& type, const std::string& code) {
  CHECK(response.status == status);
  CHECK(response.header("content-type") == "application/json");
  CHECK(response.header("server") == "trimserve");
  CHECK(response.body == R"({"error":{"message":")" + message + R"(","type":")" + type +
                             R"(","param":null,"code":")" + code + R"("}})");
}

}  // namespace trimserve::testing
