// The OpenAI-shaped error bodies the HTTP transport itself answers with (before or instead of
// a handler): {"error":{"message":..,"type":..,"param":null,"code":..}}, served as
// application/json, so SDK clients surface them like any API error.
#pragma once

#include <cstdint>
#include <string>

namespace trimserve::http {

// The JSON text of one error. `type` is "invalid_request_error" for the client's fault and
// "server_error" otherwise; `code` is a stable snake_case token tests and clients match on.
std::string error_json(const std::string& message, const std::string& type,
                       const std::string& code);

// A transport-level error response: status plus its JSON body.
struct TransportError {
  int status;
  std::string body;
};

TransportError bad_request_error(const std::string& parse_error);  // 400 bad_request
TransportError request_timeout_error(double read_timeout_s);       // 408 request_timeout
TransportError body_too_large_error(int64_t max_body_bytes);       // 413 request_too_large
TransportError headers_too_large_error(int64_t max_header_bytes);  // 431 headers_too_large
TransportError no_response_error();                               // 500 internal_error
TransportError too_many_connections_error(int64_t max_connections);  // 503 too_many_connections

}  // namespace trimserve::http
