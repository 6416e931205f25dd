#include "server/grpc/grpc_status.h"

#include <cmath>
#include <string>

namespace trimserve::grpc_api {

grpc::StatusCode grpc_code(ErrorCode kind) {
  switch (kind) {
    case ErrorCode::kOk:
      return grpc::StatusCode::OK;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kOutOfRange:  // a prompt too long is an invalid request, not an iteration
      return grpc::StatusCode::INVALID_ARGUMENT;
    case ErrorCode::kNotFound:
      return grpc::StatusCode::NOT_FOUND;
    case ErrorCode::kFailedPrecondition:
      return grpc::StatusCode::FAILED_PRECONDITION;
    case ErrorCode::kResourceExhausted:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case ErrorCode::kDataLoss:
      return grpc::StatusCode::DATA_LOSS;
    case ErrorCode::kUnimplemented:
      return grpc::StatusCode::UNIMPLEMENTED;
    case ErrorCode::kPermissionDenied:
      return grpc::StatusCode::PERMISSION_DENIED;
    case ErrorCode::kUnauthenticated:
      return grpc::StatusCode::UNAUTHENTICATED;
    case ErrorCode::kUnavailable:
      return grpc::StatusCode::UNAVAILABLE;
    case ErrorCode::kDeadlineExceeded:
      return grpc::StatusCode::DEADLINE_EXCEEDED;
    case ErrorCode::kInternal:
      break;
  }
  return grpc::StatusCode::INTERNAL;
}

grpc::Status to_grpc_status(const api::ApiError& e) {
  std::string message = e.message;
  if (!e.param.empty() && message.find(e.param) == std::string::npos) {
    message = e.param + ": " + message;
  }
  return grpc::Status(grpc_code(api::error_kind(e)), message);
}

void add_retry_trailer(grpc::CallbackServerContext& context, const api::ApiError& e) {
  if (!e.retry_after_s) return;
  const auto ms = static_cast<int64_t>(std::ceil(*e.retry_after_s * 1000.0));
  context.AddTrailingMetadata("grpc-retry-pushback-ms", std::to_string(ms));
}

}  // namespace trimserve::grpc_api
