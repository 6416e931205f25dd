// Status and Result<T>: the error vocabulary shared by every folder.
//
// Untrusted input (files, requests, flags) is reported through these, never through
// exceptions crossing module boundaries and never by exiting the process (DESIGN.md §7.10).
// Invariant violations use TS_CHECK (common/check.h) instead.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace trimserve {

enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,     // bad user input: flags, request fields, config values
  kNotFound,            // missing file, model, session
  kOutOfRange,          // prompt too long, index past the end
  kFailedPrecondition,  // object in the wrong state for the call
  kResourceExhausted,   // no KV pages left, quota hit
  kDataLoss,            // truncated or corrupt file
  kUnimplemented,       // a valid request for something not built (e.g. unknown architecture)
  kPermissionDenied,
  kUnauthenticated,
  kUnavailable,         // draining, device gone
  kDeadlineExceeded,    // a request ran past its deadline
  kInternal,            // a bug; should never reach a user
};

const char* error_code_name(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "NOT_FOUND: model directory 'x' does not exist"
  std::string to_string() const;

  // Prepends context: Status(kNotFound, "x").with_context("loading model") ->
  // "loading model: x". Keeps the code.
  Status with_context(const std::string& context) const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string m) { return {ErrorCode::kInvalidArgument, std::move(m)}; }
inline Status not_found(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
inline Status out_of_range(std::string m) { return {ErrorCode::kOutOfRange, std::move(m)}; }
inline Status failed_precondition(std::string m) { return {ErrorCode::kFailedPrecondition, std::move(m)}; }
inline Status resource_exhausted(std::string m) { return {ErrorCode::kResourceExhausted, std::move(m)}; }
inline Status data_loss(std::string m) { return {ErrorCode::kDataLoss, std::move(m)}; }
inline Status unimplemented(std::string m) { return {ErrorCode::kUnimplemented, std::move(m)}; }
inline Status deadline_exceeded(std::string m) { return {ErrorCode::kDeadlineExceeded, std::move(m)}; }
inline Status internal_error(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }

// Result<T> holds either a value or a non-ok Status (a small std::expected for C++20).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                     // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}              // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  // Precondition for value(): ok(). For status(): !ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const Status& status() const { return std::get<Status>(v_); }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace trimserve

// Propagates a non-ok Status out of the enclosing function (which returns Status or Result).
#define TS_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    ::trimserve::Status ts_status_ = (expr);     \
    if (!ts_status_.ok()) return ts_status_;     \
  } while (0)
