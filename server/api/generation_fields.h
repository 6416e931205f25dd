// The generation fields /v1/chat/completions and /v1/completions share: max_tokens /
// max_completion_tokens, temperature, top_p, top_k, min_p, seed, n (must be 1), stop,
// presence/frequency/repetition penalty, logprobs, user, stream, stream_options.include_usage,
// ignore_eos, and trimserve's session_id, kv_policy, kv_budget. Wrong JSON types are 400
// naming the field; values out of range 422 (sampling_params.h's rules, against the model's
// vocabulary size).
//
// Logprobs are asked for the way each OpenAI endpoint spells it: chat completions take
// `logprobs: true` plus `top_logprobs: N` (N > 0 needs logprobs); legacy completions take
// `logprobs: N`, the number of alternatives (0 = the sampled token's alone). N is at most
// kMaxTopLogprobs (20, as vLLM's default max_logprobs; OpenAI allows 5 for completions).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/sampling_params.h"
#include "scheduler/kv_settings.h"
#include "server/api/api_error.h"

namespace trimserve::api {

struct GenerationFields {
  SamplingParams sampling;
  bool max_tokens_given = false;  // else the route fills in what the context leaves
  bool stream = false;
  bool include_usage = false;
  std::optional<std::string> session_id;
  KvRequest kv;
  std::string user;
};

// Reads them from the request object `j`; the error to answer with, if any.
// `text_completion`: the request is /v1/completions (its `logprobs` is a number).
std::optional<ApiError> parse_generation_fields(const nlohmann::json& j, int64_t vocab_size,
                                                bool text_completion, GenerationFields& out);

}  // namespace trimserve::api
