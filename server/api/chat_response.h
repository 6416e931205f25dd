// The JSON objects /v1/chat/completions and /v1/completions answer with, shaped as OpenAI's:
// chat.completion / text_completion for non-streaming requests; chat.completion.chunk /
// text_completion objects as SSE events ("data: {...}\n\n", closed by "data: [DONE]\n\n")
// for streaming ones, with a usage-only chunk last when stream_options.include_usage is set.
// Usage carries prompt_tokens_details.cached_tokens (the prompt tokens a session served from
// its cache).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/stop_matcher.h"
#include "scheduler/token_stream.h"

namespace trimserve::api {

struct CompletionIds {
  bool text_completion = false;  // /v1/completions rather than chat
  std::string id;       // "chatcmpl-..." / "cmpl-..." (unique per request)
  int64_t created = 0;  // Unix seconds
  std::string model;    // served model name
};

// A fresh id and the current time.
CompletionIds new_completion_ids(const std::string& model, bool text_completion = false);

nlohmann::json usage_json(const StreamUsage& usage);

// Non-streaming body. `logprobs`: the choice's logprobs object (logprobs_json.h) or null.
std::string chat_completion(const CompletionIds& ids, const std::string& text,
                            FinishReason finish, const StreamUsage& usage,
                            const nlohmann::json& logprobs = nullptr);

// One SSE event holding a chunk: the role announcement (first; chat only, "" otherwise), a
// content delta, or the end of the choice (finish_reason set, empty delta / text). `logprobs`
// covers the tokens the chunk delivers (null when not asked for).
std::string sse_role_chunk(const CompletionIds& ids);
std::string sse_content_chunk(const CompletionIds& ids, const std::string& text,
                              const nlohmann::json& logprobs = nullptr);
std::string sse_finish_chunk(const CompletionIds& ids, FinishReason finish,
                             const nlohmann::json& logprobs = nullptr);
std::string sse_usage_chunk(const CompletionIds& ids, const StreamUsage& usage);
std::string sse_error(const std::string& error_body);
inline constexpr const char* kSseDone = "data: [DONE]\n\n";

}  // namespace trimserve::api
