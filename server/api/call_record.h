// CallRecord: what a finished generation call reports once, whatever its transport (HTTP,
// gRPC): the access log line, the request metrics, the tenant's token refund.
#pragma once

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

}  // namespace trimserve::api
