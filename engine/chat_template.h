// ChatTemplate: renders a Hugging Face chat template (Jinja) for a conversation, byte for
// byte as transformers' tokenizer.apply_chat_template(..., tokenize=False) would.
//
// The render context matches transformers: `messages`, `tools` (None when absent),
// `documents` (None), `add_generation_prompt`, the special tokens `bos_token`/`eos_token`
// (only when the model defines them), then any extra keyword arguments (for example
// `enable_thinking` or `reasoning_effort`). Globals `raise_exception`, `strftime_now`,
// `namespace`, `range`, `dict` and the transformers `tojson` filter are available.
//
// Key order: JSON objects keep their order (tojson of tool schemas and tool-call arguments
// depends on it), so pass nlohmann::ordered_json. A nlohmann::json converts implicitly but
// its objects are already sorted alphabetically.
//
// Thread safety: immutable after construction; render() is const and may be called
// concurrently. Parse once per model, render per request.
#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "engine/jinja_template.h"

namespace trimserve {

struct ChatRenderOptions {
  bool add_generation_prompt = true;
  // Passed as the template variable `enable_thinking` when set (Qwen3: false renders an
  // empty <think></think> block after the generation prompt).
  std::optional<bool> enable_thinking;
  // Tool schemas (a JSON array) as in the OpenAI `tools` field; null = no tools.
  nlohmann::ordered_json tools;
  // RAG documents (a JSON array); null = none.
  nlohmann::ordered_json documents;
  // Other template variables (a JSON object, or null). They override the special tokens
  // but not messages/tools/documents/add_generation_prompt/enable_thinking.
  nlohmann::ordered_json extra;
  // Override the special tokens read from the model directory.
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  jinja::RenderLimits limits;
};

class ChatTemplate {
 public:
  // Parses one template. Errors: kInvalidArgument "chat template: line L, column C: ...".
  static Result<ChatTemplate> parse(const std::string& source,
                                    std::optional<std::string> bos_token = std::nullopt,
                                    std::optional<std::string> eos_token = std::nullopt);

  // Loads from a Hugging Face model directory: `chat_template.jinja` if present, else
  // tokenizer_config.json's "chat_template" (a string, or a list of {name, template} of
  // which "default" is used, and "tool_use" when tools are given); bos/eos tokens from
  // tokenizer_config.json (a string or an {"content": ...} object).
  // Errors: kNotFound (no template), kDataLoss (unreadable JSON), kInvalidArgument (syntax).
  static Result<ChatTemplate> load_model_dir(const std::string& dir);

  // Renders `messages` (a JSON array of objects, each with a string "role").
  // Errors: kInvalidArgument for malformed messages and template runtime errors (the
  // message of raise_exception() is kept verbatim after "chat template: "),
  // kResourceExhausted when a RenderLimits bound is hit.
  Result<std::string> render(const nlohmann::ordered_json& messages,
                             const ChatRenderOptions& options) const;

  const std::optional<std::string>& bos_token() const { return bos_token_; }
  const std::optional<std::string>& eos_token() const { return eos_token_; }

 private:
  ChatTemplate() = default;
  // Named templates; "default" always exists.
  std::map<std::string, jinja::Template> templates_;
  std::optional<std::string> bos_token_;
  std::optional<std::string> eos_token_;
};

}  // namespace trimserve
