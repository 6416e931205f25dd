// POST /tokenize and /detokenize, in vLLM's shapes:
//   /tokenize   {"model", "prompt": str [, "add_special_tokens"]} or
//               {"model", "messages": [...] [, "add_generation_prompt"]}
//               -> {"count", "max_model_len", "tokens"}
//   /detokenize {"model", "tokens": [ids]} -> {"prompt": str}
#include <nlohmann/json.hpp>

#include "server/api/json_fields.h"
#include "server/api/openai_routes.h"

namespace trimserve::api {

namespace {

// Parses the body and checks `model`; on error answers and returns nullopt.
std::optional<nlohmann::json> parse_body(const std::string& body, const std::string& served,
                                         http::ResponseWriter& w) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    send_error(w, bad_request("the request body must be a JSON object"));
    return std::nullopt;
  }
  JsonFields f(j);
  std::string model = served;
  if (!f.string("model", model)) {
    send_error(w, f.error());
    return std::nullopt;
  }
  if (model != served) {
    send_error(w, not_found_error("The model '" + model + "' does not exist", "model",
                                  "model_not_found"));
    return std::nullopt;
  }
  return j;
}

}  // namespace

void OpenAiRoutes::tokenize(const http::HttpRequest& request,
                            std::shared_ptr<http::ResponseWriter> writer) {
  auto j = parse_body(request.body, ctx_.served_model, *writer);
  if (!j) return;
  JsonFields f(*j);
  std::string text;
  if (j->contains("messages")) {
    if (ctx_.chat_template == nullptr) {
      return send_error(*writer, unprocessable("this model has no chat template", "messages"));
    }
    ChatRenderOptions options;
    if (!f.boolean("add_generation_prompt", options.add_generation_prompt)) {
      return send_error(*writer, f.error());
    }
    const nlohmann::json& m = (*j)["messages"];
    if (!m.is_array()) return send_error(*writer, bad_request("'messages' must be an array", "messages"));
    auto rendered = ctx_.chat_template->render(nlohmann::ordered_json::parse(m.dump()), options);
    if (!rendered.ok()) return send_error(*writer, bad_request(rendered.status().message(), "messages"));
    text = *rendered;
  } else {
    if (!j->contains("prompt")) return send_error(*writer, bad_request("'prompt' or 'messages' is required"));
    if (!f.string("prompt", text)) return send_error(*writer, f.error());
  }
  const std::vector<int32_t> tokens = ctx_.tokenizer->encode(text, /*parse_special=*/true);
  const nlohmann::json body = {{"count", tokens.size()},
                               {"max_model_len", ctx_.max_model_len},
                               {"tokens", tokens}};
  writer->send(200, "application/json", body.dump());
}

void OpenAiRoutes::detokenize(const http::HttpRequest& request,
                              std::shared_ptr<http::ResponseWriter> writer) {
  auto j = parse_body(request.body, ctx_.served_model, *writer);
  if (!j) return;
  if (!j->contains("tokens") || !(*j)["tokens"].is_array()) {
    return send_error(*writer, bad_request("'tokens' must be an array of token ids", "tokens"));
  }
  std::vector<int32_t> ids;
  for (const auto& t : (*j)["tokens"]) {
    if (!t.is_number_integer()) {
      return send_error(*writer, bad_request("'tokens' must be an array of token ids", "tokens"));
    }
    const std::optional<int64_t> id = json_int64(t);
    if (!id || *id < 0 || *id > INT32_MAX) {
      return send_error(*writer, unprocessable("token id " + t.dump() + " is out of range", "tokens"));
    }
    ids.push_back(static_cast<int32_t>(*id));
  }
  auto text = ctx_.tokenizer->decode_checked(ids);
  if (!text.ok()) return send_error(*writer, unprocessable(text.status().message(), "tokens"));
  const nlohmann::json body = {{"prompt", *text}};
  writer->send(200, "application/json",
               body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace trimserve::api
