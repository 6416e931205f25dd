// The API's errors as gRPC statuses. Every gRPC handler answers refusals with to_grpc_status
// of the same ApiError the HTTP routes send, so both transports say the same thing:
//
//   INVALID_ARGUMENT (400/413/422), UNAUTHENTICATED (401), PERMISSION_DENIED (403),
//   NOT_FOUND (404), FAILED_PRECONDITION (409: a busy session), RESOURCE_EXHAUSTED (429, and a
//   full queue), UNAVAILABLE (503: draining), DEADLINE_EXCEEDED (504), INTERNAL otherwise.
//
// The message is the ApiError's, prefixed with its field ("prompt: ...") when it names one
// the message does not mention. A retry delay travels as the trailing metadata
// `grpc-retry-pushback-ms` (the key gRPC's own retry policy honours).
#pragma once

#include <grpcpp/grpcpp.h>

#include "server/api/api_error.h"

namespace trimserve::grpc_api {

grpc::StatusCode grpc_code(ErrorCode kind);

grpc::Status to_grpc_status(const api::ApiError& e);

// Adds `grpc-retry-pushback-ms` to the call's trailers when `e` carries a retry delay.
void add_retry_trailer(grpc::CallbackServerContext& context, const api::ApiError& e);

}  // namespace trimserve::grpc_api
