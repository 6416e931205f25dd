#include "server/api/completion_request.h"

#include <nlohmann/json.hpp>

#include "server/api/json_fields.h"

namespace trimserve::api {

ApiError prompt_id_error(const std::string& id, int64_t vocab_size, const char* param) {
  return unprocessable("token id " + id + " outside [0, " + std::to_string(vocab_size) + ")",
                       param);
}

std::optional<ApiError> check_prompt_id(int64_t id, int64_t vocab_size, const char* param) {
  if (id >= 0 && id < vocab_size) return std::nullopt;
  return prompt_id_error(std::to_string(id), vocab_size, param);
}

std::variant<CompletionRequest, ApiError> parse_completion_request(std::string_view body,
                                                                   int64_t vocab_size) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad_request("the request body is not valid JSON");
  if (!j.is_object()) return bad_request("the request body must be a JSON object");
  CompletionRequest r;
  JsonFields f(j);
  if (!f.has("model")) return bad_request("'model' is required", "model");
  if (!f.string("model", r.model)) return f.error();
  if (!f.has("prompt")) return bad_request("'prompt' is required", "prompt");
  const nlohmann::json& p = j["prompt"];
  const std::string kShape = "'prompt' must be a string, an array of one string, or token ids";
  if (p.is_string()) {
    r.prompt_text = p.get<std::string>();
  } else if (p.is_array() && p.size() == 1 && p[0].is_string()) {
    r.prompt_text = p[0].get<std::string>();
  } else if (p.is_array() && !p.empty() && p[0].is_number_integer()) {
    r.prompt_is_ids = true;
    for (const auto& id : p) {
      if (!id.is_number_integer()) return bad_request(kShape, "prompt");
      const std::optional<int64_t> v = json_int64(id);
      if (!v) return prompt_id_error(id.dump(), vocab_size, "prompt");
      if (auto e = check_prompt_id(*v, vocab_size, "prompt")) return *e;
      r.prompt_ids.push_back(static_cast<int32_t>(*v));
    }
  } else if (p.is_array() && p.size() > 1) {
    return unprocessable("batched prompts are not supported: send one prompt per request", "prompt");
  } else {
    return bad_request(kShape, "prompt");
  }
  bool echo = false;
  std::optional<std::string> suffix;
  int64_t best_of = 1;
  if (!f.boolean("echo", echo) || !f.optional_string("suffix", suffix) ||
      !f.integer("best_of", best_of)) {
    return f.error();
  }
  if (echo) return unprocessable("echo is not supported", "echo");
  if (suffix) return unprocessable("suffix is not supported", "suffix");
  if (best_of != 1) return unprocessable("only best_of = 1 is supported", "best_of");
  if (auto e = parse_generation_fields(j, vocab_size, /*text_completion=*/true, r)) return *e;
  return r;
}

}  // namespace trimserve::api
