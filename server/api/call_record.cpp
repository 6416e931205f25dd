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

}  // namespace trimserve::api
