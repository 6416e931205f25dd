// POST /v1/chat/completions request body (OpenAI fields + trimserve's session and KV
// extensions), parsed and checked before anything is queued.
//
// Accepted: model, messages (role + content as a string or an array of text parts),
// max_tokens / max_completion_tokens, temperature, top_p, top_k, min_p, seed, n (must be 1),
// stop, presence/frequency/repetition penalty, logprobs/top_logprobs, user, stream,
// stream_options.include_usage, ignore_eos, and the extensions session_id, kv_policy,
// kv_budget. Unknown fields are ignored as OpenAI does. Errors: malformed JSON or a field of
// the wrong type 400; values out of range 422 (sampling_params.h's rules).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "engine/sampling_params.h"
#include "scheduler/kv_settings.h"
#include "server/api/api_error.h"

namespace trimserve::api {

struct ChatRequest {
  std::string model;
  nlohmann::ordered_json messages;  // normalized: [{"role", "content": string}, ...]
  SamplingParams sampling;
  bool max_tokens_given = false;
  bool stream = false;
  bool include_usage = false;
  std::optional<std::string> session_id;
  KvRequest kv;
  std::string user;
};

// `default_max_tokens` applies when neither max_tokens nor max_completion_tokens is given.
// Sampling values are validated against the vocabulary size `vocab_size`.
// Returns the request or the error to answer with.
std::variant<ChatRequest, ApiError> parse_chat_request(std::string_view body,
                                                       int64_t vocab_size);

}  // namespace trimserve::api
