// ServingContext: what every transport of the API (the OpenAI-compatible HTTP routes, the
// gRPC service) serves from — the model, its tokenizer and chat template, the server's limits,
// the engine loop, the tenants and the metrics. Built once by `trimserve serve`; everything it
// points to outlives the transports and is safe to use from their I/O threads.
#pragma once

#include <functional>
#include <string>

#include "engine/chat_template.h"
#include "engine/model_config.h"
#include "engine/tokenizer.h"
#include "scheduler/engine_loop.h"
#include "scheduler/kv_settings.h"
#include "server/api/call_record.h"
#include "server/api/tenants.h"

namespace trimserve::api {

class DaemonMetrics;

struct ServingContext {
  std::string served_model;        // the `model` clients name
  const ModelConfig* model = nullptr;
  const Tokenizer* tokenizer = nullptr;
  const ChatTemplate* chat_template = nullptr;  // null: chat completions answer 422
  int64_t max_model_len = 0;       // prompt + completion tokens
  int64_t max_prompt_tokens = 0;   // server.limits.max_prompt_tokens; 0 = max_model_len
  int64_t max_queue = 0;           // server.limits.max_queue: more queued requests get 503
                                   // (gRPC: RESOURCE_EXHAUSTED)
  double request_timeout_s = 0;    // server.limits.request_timeout_s: arrival to last token;
                                   // 0 = no deadline (past it: 504, or an SSE error event)
  SequenceKvConfig default_kv;     // the daemon's kvpool.* settings, resolved
  EngineLoop* loop = nullptr;
  Tenants* tenants = nullptr;      // auth, allowed models, KV caps, rate limits
  CallObserver observer;           // every finished generation request (metrics); may be empty
  DaemonMetrics* metrics = nullptr;  // GET /metrics and refused-request counts; may be null
  std::function<bool()> ready;     // model loaded, engine healthy, not draining; null = ready
  std::function<bool()> accepting;  // false while draining: API calls are refused (503 /
                                    // UNAVAILABLE, draining_error); null = accepting
};

}  // namespace trimserve::api
