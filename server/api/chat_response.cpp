#include "server/api/chat_response.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>

namespace trimserve::api {

namespace {

std::string dump(const nlohmann::json& j) {
  // Generated text may end in a partial UTF-8 sequence only if a tokenizer is broken; replace
  // rather than throw.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json chunk(const CompletionIds& ids, nlohmann::json choices) {
  return {{"id", ids.id},
          {"object", ids.text_completion ? "text_completion" : "chat.completion.chunk"},
          {"created", ids.created}, {"model", ids.model},
          {"choices", std::move(choices)}};
}

std::string sse(const nlohmann::json& j) { return "data: " + dump(j) + "\n\n"; }

nlohmann::json finish_json(FinishReason f) {
  return f == FinishReason::kNone ? nlohmann::json(nullptr) : nlohmann::json(finish_reason_name(f));
}

}  // namespace

CompletionIds new_completion_ids(const std::string& model, bool text_completion) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t process_salt = std::random_device{}();
  char id[64];
  std::snprintf(id, sizeof(id), "%s-%016llx%08llx", text_completion ? "cmpl" : "chatcmpl",
                static_cast<unsigned long long>(process_salt),
                static_cast<unsigned long long>(++counter));
  CompletionIds ids;
  ids.text_completion = text_completion;
  ids.id = id;
  ids.created = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  ids.model = model;
  return ids;
}

nlohmann::json usage_json(const StreamUsage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
}

std::string chat_completion(const CompletionIds& ids, const std::string& text,
                            FinishReason finish, const StreamUsage& usage,
                            const nlohmann::json& logprobs) {
  nlohmann::json choice = {{"index", 0}, {"logprobs", logprobs}, {"finish_reason", finish_json(finish)}};
  if (ids.text_completion) {
    choice["text"] = text;
  } else {
    choice["message"] = {{"role", "assistant"}, {"content", text}};
  }
  return dump({{"id", ids.id},
               {"object", ids.text_completion ? "text_completion" : "chat.completion"},
               {"created", ids.created},
               {"model", ids.model},
               {"choices", nlohmann::json::array({choice})},
               {"usage", usage_json(usage)}});
}

std::string sse_role_chunk(const CompletionIds& ids) {
  if (ids.text_completion) return "";
  return sse(chunk(ids, nlohmann::json::array({{{"index", 0},
                                                 {"delta", {{"role", "assistant"}, {"content", ""}}},
                                                 {"logprobs", nullptr},
                                                 {"finish_reason", nullptr}}})));
}

std::string sse_content_chunk(const CompletionIds& ids, const std::string& text,
                              const nlohmann::json& logprobs) {
  if (ids.text_completion) {
    return sse(chunk(ids, nlohmann::json::array({{{"index", 0}, {"text", text}, {"logprobs", logprobs},
                                                   {"finish_reason", nullptr}}})));
  }
  return sse(chunk(ids, nlohmann::json::array({{{"index", 0},
                                                 {"delta", {{"content", text}}},
                                                 {"logprobs", logprobs},
                                                 {"finish_reason", nullptr}}})));
}

std::string sse_finish_chunk(const CompletionIds& ids, FinishReason finish,
                             const nlohmann::json& logprobs) {
  if (ids.text_completion) {
    return sse(chunk(ids, nlohmann::json::array({{{"index", 0}, {"text", ""}, {"logprobs", logprobs},
                                                   {"finish_reason", finish_json(finish)}}})));
  }
  return sse(chunk(ids, nlohmann::json::array({{{"index", 0},
                                                 {"delta", nlohmann::json::object()},
                                                 {"logprobs", logprobs},
                                                 {"finish_reason", finish_json(finish)}}})));
}

std::string sse_usage_chunk(const CompletionIds& ids, const StreamUsage& usage) {
  nlohmann::json j = chunk(ids, nlohmann::json::array());
  j["usage"] = usage_json(usage);
  return sse(j);
}

std::string sse_error(const std::string& error_body) { return "data: " + error_body + "\n\n"; }

}  // namespace trimserve::api
