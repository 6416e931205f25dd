// The rules every generation request passes between its transport and the engine loop.
// HTTP's /v1/chat/completions and /v1/completions and gRPC's Generate and Chat all go through
// these functions, so no rule can drift between transports:
//
//   check_model       the served model (404) and the tenant's allowed models (403);
//   chat_prompt       the chat template over normalized messages, tokenized (no template or
//                     a render error: 422 / 400);
//   admit_generation  a non-empty prompt (422) within the context (400
//                     context_length_exceeded: prompt + max_tokens; max_tokens defaults to
//                     what the context leaves) and within server.limits.max_prompt_tokens
//                     (400, the same code); room in the queue (503, class
//                     kResourceExhausted, retry after 1 s); KV settings within the tenant's cap
//                     (422); the tenant's rate limits (429, charged prompt + max_tokens) — then
//                     submits to the engine loop.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/chat_template.h"
#include "scheduler/token_stream.h"
#include "server/api/api_error.h"
#include "server/api/call_record.h"
#include "server/api/generation_fields.h"
#include "server/api/serving_context.h"
#include "server/api/tenants.h"

namespace trimserve::api {

std::optional<ApiError> check_model(const ServingContext& ctx, const std::string& model,
                                    const TenantPolicy& tenant);

// `messages`: [{"role", "content": string, ...}] as parse_chat_request normalizes them.
std::variant<std::vector<int32_t>, ApiError> chat_prompt(const ServingContext& ctx,
                                                         const nlohmann::ordered_json& messages,
                                                         const ChatRenderOptions& options);

// While the daemon drains (ctx.accepting() false): the answer to every new API call — 503 /
// UNAVAILABLE with a retry delay, since another replica (or this one restarted) can serve it.
std::optional<ApiError> draining_error(const ServingContext& ctx);

struct Admission {
  std::shared_ptr<TokenStream> stream;
  int64_t prompt_tokens = 0;
  // Refunds the tenant the tokens the call did not generate, then calls the context's
  // observer: the transport reports the call's CallRecord here, once (report_call).
  CallObserver observer;
};

// `gen.sampling.max_tokens` is filled in when the request did not give it; `prompt_param`
// names the prompt's field in errors ("messages", "prompt"). `gen.session_id` is the session
// the request continues, if any.
std::variant<Admission, ApiError> admit_generation(const ServingContext& ctx,
                                                   std::vector<int32_t> prompt,
                                                   GenerationFields& gen, const char* prompt_param,
                                                   const TenantPolicy& tenant,
                                                   std::chrono::steady_clock::time_point started);

}  // namespace trimserve::api
