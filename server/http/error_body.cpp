#include "server/http/error_body.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace trimserve::http {

std::string error_json(const std::string& message, const std::string& type,
                       const std::string& code) {
  // ordered_json: the fields keep OpenAI's order (message, type, param, code) instead of
  // being sorted, so the text reads like the errors in OpenAI's documentation.
  nlohmann::ordered_json error = {
      {"message", message}, {"type", type}, {"param", nullptr}, {"code", code}};
  return nlohmann::ordered_json{{"error", std::move(error)}}.dump();
}

TransportError bad_request_error(const std::string& parse_error) {
  return {400, error_json("malformed HTTP request: " + parse_error, "invalid_request_error",
                          "bad_request")};
}

TransportError request_timeout_error(double read_timeout_s) {
  return {408, error_json(fmt::format("request not received within {} s", read_timeout_s),
                          "invalid_request_error", "request_timeout")};
}

TransportError body_too_large_error(int64_t max_body_bytes) {
  return {413, error_json(fmt::format("request body larger than {} bytes", max_body_bytes),
                          "invalid_request_error", "request_too_large")};
}

TransportError headers_too_large_error(int64_t max_header_bytes) {
  return {431,
          error_json(fmt::format("request header block larger than {} bytes", max_header_bytes),
                     "invalid_request_error", "headers_too_large")};
}

TransportError no_response_error() {
  return {500, error_json("the request handler produced no response", "server_error",
                          "internal_error")};
}

TransportError too_many_connections_error(int64_t max_connections) {
  return {503, error_json(fmt::format("too many connections (limit {}); retry later",
                                      max_connections),
                          "server_error", "too_many_connections")};
}

}  // namespace trimserve::http
