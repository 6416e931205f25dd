// POST /v1/chat/completions request body (OpenAI fields + trimserve's session and KV
// extensions), parsed and checked before anything is queued.
//
// Accepted: model, messages (role + content as a string or an array of text parts) and the
// generation fields of generation_fields.h. Unknown fields are ignored as OpenAI does.
// Errors: malformed JSON or a field of the wrong type 400; values out of range 422.
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
#include "server/api/generation_fields.h"

namespace trimserve::api {

struct ChatRequest : GenerationFields {
  std::string model;
  nlohmann::ordered_json messages;  // normalized: [{"role", "content": string}, ...]
};

// `messages` as a chat request gives them, checked (roles, content a string or an array of
// text parts) and normalized to [{"role", "content": string}, ...]; gRPC's Chat uses it too.
std::variant<nlohmann::ordered_json, ApiError> chat_messages(const nlohmann::json& messages);

// Sampling values are validated against the vocabulary size `vocab_size`. Returns the request
// or the error to answer with.
std::variant<ChatRequest, ApiError> parse_chat_request(std::string_view body,
                                                       int64_t vocab_size);

}  // namespace trimserve::api
