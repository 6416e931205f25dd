// The OpenAI-compatible HTTP API (DESIGN.md §6) over one EngineLoop: routes requests, turns
// chat requests into prompts (chat template + tokenizer) and GenerationRequests, and answers
// through GenerationCall. Routes: POST /v1/chat/completions and /v1/completions (streaming and
// not), GET /v1/models,
// GET /metrics (Prometheus), POST /tokenize and /detokenize (vLLM's shapes), GET and DELETE /v1/sessions/{id} (the
// caller's tenant only: another tenant's id is 404), GET /health, GET /ready. Unknown routes
// are 404 in OpenAI's error shape.
// Every /v1/ route authenticates first (401), then checks the tenant's model (403) and rate
// limits (429 + Retry-After); /health and /ready are open.
//
// Threading: handle() runs on HTTP I/O threads; everything it touches is immutable or
// thread-safe (ChatTemplate::render, Tokenizer, EngineLoop::submit).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "engine/chat_template.h"
#include "engine/model_config.h"
#include "engine/tokenizer.h"
#include "kvpool/types.h"
#include "scheduler/engine_loop.h"
#include "server/api/generation_call.h"
#include "server/api/generation_fields.h"
#include "server/api/serving_context.h"
#include "server/api/tenants.h"
#include "server/http/http_server.h"

namespace trimserve::api {

class OpenAiRoutes {
 public:
  explicit OpenAiRoutes(ServingContext context);
  void handle(http::HttpRequest request, std::shared_ptr<http::ResponseWriter> writer);

 private:
  void chat_completions(const http::HttpRequest& request, const TenantPolicy& tenant,
                        std::shared_ptr<http::ResponseWriter> writer);
  void completions(const http::HttpRequest& request, const TenantPolicy& tenant,
                   std::shared_ptr<http::ResponseWriter> writer);
  // Shared by both completion routes: admit_generation (generation_admission.h), the
  // X-Session-Id header standing in for a missing session_id, then the answer through
  // GenerationCall.
  void generate(std::vector<int32_t> prompt, GenerationFields& gen, const char* prompt_param,
                const TenantPolicy& tenant, const http::HttpRequest& request,
                std::shared_ptr<http::ResponseWriter> writer, bool text_completion,
                std::chrono::steady_clock::time_point started);
  void models(std::shared_ptr<http::ResponseWriter> writer);
  // Answers with `e` and counts the refusal under the tenant.
  void reject(http::ResponseWriter& writer, const std::string& tenant, const ApiError& e);
  void tokenize(const http::HttpRequest& request, std::shared_ptr<http::ResponseWriter> writer);
  void detokenize(const http::HttpRequest& request, std::shared_ptr<http::ResponseWriter> writer);
  // GET / DELETE /v1/sessions/{id}, answered from the engine loop's thread.
  void session(const http::HttpRequest& request, const TenantPolicy& tenant,
               std::shared_ptr<http::ResponseWriter> writer);

  ServingContext ctx_;
};

}  // namespace trimserve::api
