// Fuzz target: the chat template engine. First input byte even: the rest is a JSON messages
// array, checked as the HTTP API checks it (api::chat_messages) and rendered with the embedded
// model's Qwen3-style template, with and without the generation prompt. Odd: the rest is a
// template source, parsed and, if it parses, rendered with a fixed conversation (the render
// limits bound loops and output). Errors are expected; crashes, sanitizer reports and hangs
// are findings.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/chat_template.h"
#include "server/api/chat_request.h"

using namespace trimserve;

namespace {

std::optional<ChatTemplate>& model_template() {
  static std::optional<ChatTemplate> t;
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto t = ChatTemplate::load_model_dir(TRIMSERVE_SOURCE_DIR "/deploy/models/trimchat-6m");
  if (!t.ok()) std::abort();
  model_template().emplace(std::move(*t));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool template_source = data[0] & 1;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  ChatRenderOptions options;
  if (!template_source) {
    nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) return 0;
    auto messages = api::chat_messages(parsed);
    if (auto* m = std::get_if<nlohmann::ordered_json>(&messages)) {
      (void)model_template()->render(*m, options);
      options.add_generation_prompt = true;
      (void)model_template()->render(*m, options);
    }
    return 0;
  }
  auto t = ChatTemplate::parse(text, std::string("<|endoftext|>"), std::string("<|im_end|>"));
  if (!t.ok()) return 0;
  nlohmann::ordered_json conversation = nlohmann::ordered_json::array(
      {{{"role", "system"}, {"content", "Be brief."}},
       {{"role", "user"}, {"content", "My locker code is 4417."}},
       {{"role", "assistant"}, {"content", "Noted."}},
       {{"role", "user"}, {"content", "What is it?"}}});
  options.add_generation_prompt = true;
  (void)t->render(conversation, options);
  return 0;
}
