// The daemon's Prometheus metrics (DESIGN.md §6): vLLM's names where one exists, trimserve_*
// for what only trimserve has (evictions by reason, sessions, cached tokens, per-tenant
// counts). Request metrics are recorded from every finished generation request (CallRecord);
// engine, KV and session gauges are refreshed from the engine loop's published stats at
// scrape time. Served at GET /metrics.
//
// Threading: record() from HTTP threads and the loop thread; scrape() from HTTP threads.
#pragma once

#include <mutex>
#include <string>

#include "scheduler/engine_loop.h"
#include "server/api/generation_call.h"
#include "server/metrics/registry.h"

namespace trimserve::api {

class DaemonMetrics {
 public:
  // `loop` must outlive this object; its stats are read at every scrape, and its steps are
  // observed (batch sizes, queue times): construct before loop.start().
  DaemonMetrics(EngineLoop& loop, std::string model_name);

  void record(const CallRecord& call);
  // A request refused before it reached the engine (400/401/403/404/422/429/...).
  void rejected(const std::string& tenant, int status);
  // An HTTP request the transport answered itself (http::TransportErrorObserver).
  void transport_error(int status);

  std::string scrape() { return registry_.scrape(); }

 private:
  void refresh(const EngineLoopStats& s);
  void record_step(const StepRecord& step);

  const EngineLoop& loop_;
  std::string model_;
  metrics::Registry registry_;
  EngineLoopStats last_;  // counters advance by the difference since the last scrape
  std::mutex mu_;         // guards the totals below (record() runs on many threads)
  double prompt_tokens_ = 0, cached_tokens_ = 0;
};

}  // namespace trimserve::api
