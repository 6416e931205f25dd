// CallRecord: what a finished generation call reports once, whatever its transport (HTTP,
// gRPC): the access log line, the request metrics, the tenant's token refund.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "scheduler/token_stream.h"

namespace trimserve::api {

struct CallRecord {
  std::string id;
  std::string tenant;
  // HTTP status answered (200 also when a stream ended in an error event); a gRPC call reports
  // the HTTP status of its error's class (ApiError::status), 200 when it finished
  int status = 200;
  std::string finish;  // "stop" | "length" | "error" | "cancelled"
  StreamUsage usage;   // a call that did not finish: its prompt and the tokens streamed so far
  int64_t tokens_streamed = 0;  // tokens the engine produced for the call, however it ended
  double ttft_s = -1;  // first token after the request arrived; -1 if none
  double e2e_s = 0;
};
using CallObserver = std::function<void(const CallRecord&)>;

// Writes the access log line of `r` (no body, no key: only what operators need to follow a
// request), then calls `observer` when set.
void report_call(const CallRecord& r, const CallObserver& observer);

// The bookkeeping of one call while it streams, whatever the transport: the tokens the engine
// produced, the time to the first, and the CallRecord reported once when the call ends.
// Not thread-safe: the call's own lock guards it.
class CallLedger {
 public:
  CallLedger(std::string id, std::string tenant, std::chrono::steady_clock::time_point started,
             int64_t prompt_tokens, CallObserver observer);

  // One more token (the first stamps the time to first token).
  void token();
  int64_t tokens() const { return tokens_; }
  // The usage of a call that ends without finishing (cancelled, error): its prompt and the
  // tokens streamed so far — counted all the same.
  StreamUsage partial_usage() const;
  // Reports the call (report_call) the first time; later calls do nothing.
  void finish(int status, const std::string& finish, const StreamUsage& usage);

 private:
  std::string id_, tenant_;
  std::chrono::steady_clock::time_point started_;
  int64_t prompt_tokens_ = 0;
  CallObserver observer_;
  int64_t tokens_ = 0;
  double ttft_s_ = -1;
  bool reported_ = false;
};

}  // namespace trimserve::api
