#include "server/api/call_record.h"

#include <spdlog/spdlog.h>

#include "common/logging.h"

namespace trimserve::api {

void report_call(const CallRecord& r, const CallObserver& observer) {
  named_logger("access")->info(
      "request id={} tenant={} status={} finish={} prompt_tokens={} completion_tokens={} "
      "cached_tokens={} ttft_ms={:.1f} latency_ms={:.1f}",
      r.id, r.tenant, r.status, r.finish, r.usage.prompt_tokens, r.usage.completion_tokens,
      r.usage.cached_tokens, r.ttft_s * 1e3, r.e2e_s * 1e3);
  if (observer) observer(r);
}

CallLedger::CallLedger(std::string id, std::string tenant,
                       std::chrono::steady_clock::time_point started, int64_t prompt_tokens,
                       CallObserver observer)
    : id_(std::move(id)),
      tenant_(std::move(tenant)),
      started_(started),
      prompt_tokens_(prompt_tokens),
      observer_(std::move(observer)) {}

void CallLedger::token() {
  ++tokens_;
  if (ttft_s_ < 0) {
    ttft_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }
}

StreamUsage CallLedger::partial_usage() const {
  StreamUsage u;
  u.prompt_tokens = prompt_tokens_;
  u.completion_tokens = tokens_;
  return u;
}

void CallLedger::finish(int status, const std::string& finish, const StreamUsage& usage) {
  if (reported_) return;
  reported_ = true;
  CallRecord r;
  r.id = id_;
  r.tenant = tenant_;
  r.status = status;
  r.finish = finish;
  r.usage = usage;
  r.tokens_streamed = tokens_;
  r.ttft_s = ttft_s_;
  r.e2e_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  report_call(r, observer_);
}

}  // namespace trimserve::api
