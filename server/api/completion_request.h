// POST /v1/completions request body: model, prompt (a string, a one-element array of strings,
// or an array of token ids) and the generation fields of generation_fields.h. echo, suffix and
// best_of > 1 are refused (422) rather than ignored. Errors as parse_chat_request's.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "server/api/api_error.h"
#include "server/api/generation_fields.h"

namespace trimserve::api {

struct CompletionRequest : GenerationFields {
  std::string model;
  std::string prompt_text;         // when the prompt is text
  std::vector<int32_t> prompt_ids; // when the prompt is token ids (then prompt_text is empty)
  bool prompt_is_ids = false;
};

// A prompt token id must be in [0, vocab_size) (422 naming `param`); gRPC's prompt_ids too.
std::optional<ApiError> check_prompt_id(int64_t id, int64_t vocab_size, const char* param);
// The error for an id out of range, `id` as the request spelled it.
ApiError prompt_id_error(const std::string& id, int64_t vocab_size, const char* param);

std::variant<CompletionRequest, ApiError> parse_completion_request(std::string_view body,
                                                                   int64_t vocab_size);

}  // namespace trimserve::api
