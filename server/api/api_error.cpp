#include "server/api/api_error.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "server/http/response_writer.h"

namespace trimserve::api {

namespace {

ApiError make(int status, std::string type, std::string message, std::string param,
              std::string code) {
  ApiError e;
  e.status = status;
  e.type = std::move(type);
  e.message = std::move(message);
  e.param = std::move(param);
  e.code = std::move(code);
  return e;
}

}  // namespace

ApiError bad_request(std::string message, std::string param) {
  return make(400, "invalid_request_error", std::move(message), std::move(param), "");
}

ApiError unprocessable(std::string message, std::string param) {
  return make(422, "invalid_request_error", std::move(message), std::move(param), "");
}

ApiError not_found_error(std::string message, std::string param, std::string code) {
  // OpenAI types its 404s (unknown model, unknown URL) as invalid_request_error.
  return make(404, "invalid_request_error", std::move(message), std::move(param), std::move(code));
}

std::string error_body(const ApiError& e) {
  nlohmann::json j;
  j["error"]["message"] = e.message;
  j["error"]["type"] = e.type;
  j["error"]["param"] = e.param.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.param);
  j["error"]["code"] = e.code.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.code);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void send_error(http::ResponseWriter& w, const ApiError& e) {
  http::HeaderList headers;
  if (e.retry_after_s) {
    headers.emplace_back("Retry-After",
                         std::to_string(static_cast<int64_t>(std::ceil(*e.retry_after_s))));
  }
  w.send(e.status, "application/json", error_body(e), std::move(headers));
}

ErrorCode error_kind(const ApiError& e) {
  if (e.kind) return *e.kind;
  switch (e.status) {
    case 400:
    case 413:
    case 422:
      return ErrorCode::kInvalidArgument;
    case 401:
      return ErrorCode::kUnauthenticated;
    case 403:
      return ErrorCode::kPermissionDenied;
    case 404:
      return ErrorCode::kNotFound;
    case 409:
      return ErrorCode::kFailedPrecondition;
    case 429:
      return ErrorCode::kResourceExhausted;
    case 503:
      return ErrorCode::kUnavailable;
    case 504:
      return ErrorCode::kDeadlineExceeded;
    default:
      return ErrorCode::kInternal;
  }
}

ApiError from_status(const Status& s, std::string param) {
  switch (s.code()) {
    case ErrorCode::kInvalidArgument:
      return unprocessable(s.message(), std::move(param));
    case ErrorCode::kNotFound:
      return not_found_error(s.message(), std::move(param));
    case ErrorCode::kOutOfRange:
      // 400, as OpenAI and vLLM answer it: the SDKs raise BadRequestError, and callers look
      // for code context_length_exceeded there (413 is for bodies over the byte limit).
      return make(400, "invalid_request_error", s.message(), std::move(param),
                  "context_length_exceeded");
    case ErrorCode::kFailedPrecondition:
      return make(409, "invalid_request_error", s.message(), std::move(param), "conflict");
    case ErrorCode::kResourceExhausted: {
      ApiError e = make(429, "rate_limit_error", s.message(), std::move(param), "rate_limit_exceeded");
      e.retry_after_s = 1.0;
      return e;
    }
    case ErrorCode::kUnavailable:
      return make(503, "service_unavailable", s.message(), std::move(param), "");
    case ErrorCode::kDeadlineExceeded:
      // The server's own limit (server.limits.request_timeout_s) ran out: a gateway timeout
      // rather than 408, which would blame the client for being slow to send.
      return make(504, "timeout_error", s.message(), std::move(param), "request_timeout");
    case ErrorCode::kPermissionDenied:
      return make(403, "permission_denied", s.message(), std::move(param), "");
    case ErrorCode::kUnauthenticated:
      return make(401, "authentication_error", s.message(), std::move(param), "invalid_api_key");
    default:
      return make(500, "internal_error", s.message(), std::move(param), "");
  }
}

}  // namespace trimserve::api
