// ApiError: an error as the OpenAI-compatible API reports it — an HTTP status and the body
// {"error": {"message", "type", "param", "code"}} that OpenAI clients (the official SDKs)
// parse into their error classes (BadRequestError, AuthenticationError, RateLimitError, ...).
//
// Status mapping used by every route: malformed JSON and wrong types 400; unknown model,
// route or session 404; prompt past the context 400 (code context_length_exceeded, as OpenAI);
// body over the byte limit 413; semantically invalid values 422; busy session 409; quota and
// rate limits 429 (+ Retry-After); draining / shutting down 503.
#pragma once

#include <optional>
#include <string>

#include "common/status.h"

namespace trimserve::api {

struct ApiError {
  int status = 400;
  std::string type = "invalid_request_error";
  std::string message;
  std::string param;  // "" = null
  std::string code;   // "" = null
  std::optional<double> retry_after_s;
  // The error's class where the HTTP status alone does not tell it (a full queue is 503 over
  // HTTP, as a draining server, but RESOURCE_EXHAUSTED over gRPC); see error_kind().
  std::optional<ErrorCode> kind;
};

// The class of `e` for transports without HTTP statuses (gRPC): `kind` when set, else by
// status — 400/413/422 kInvalidArgument, 401 kUnauthenticated, 403 kPermissionDenied,
// 404 kNotFound, 409 kFailedPrecondition, 429 kResourceExhausted, 503 kUnavailable,
// 504 kDeadlineExceeded, anything else kInternal.
ErrorCode error_kind(const ApiError& e);

ApiError bad_request(std::string message, std::string param = "");   // 400
ApiError unprocessable(std::string message, std::string param = "");  // 422
ApiError not_found_error(std::string message, std::string param = "", std::string code = "");

// The JSON body.
std::string error_body(const ApiError& e);

}  // namespace trimserve::api

namespace trimserve::http {
class ResponseWriter;
}

namespace trimserve::api {

// Answers with `e` (JSON body, Retry-After when set).
void send_error(http::ResponseWriter& writer, const ApiError& e);

// From an internal Status: kInvalidArgument 422 (values that parsed but are not allowed),
// kNotFound 404, kOutOfRange 400 context_length_exceeded, kFailedPrecondition 409,
// kResourceExhausted 429, kUnavailable 503, kDeadlineExceeded 504, kPermissionDenied 403,
// kUnauthenticated 401, others 500.
ApiError from_status(const Status& s, std::string param = "");

}  // namespace trimserve::api
