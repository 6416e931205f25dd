#include "server/api/chat_request.h"

#include "server/api/generation_fields.h"
#include "server/api/json_fields.h"

namespace trimserve::api {

std::variant<nlohmann::ordered_json, ApiError> chat_messages(const nlohmann::json& in) {
  if (!in.is_array()) {
    return bad_request(std::string("'messages' must be an array, got ") + json_type_name(in),
                       "messages");
  }
  if (in.empty()) return unprocessable("'messages' must not be empty", "messages");
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (size_t i = 0; i < in.size(); ++i) {
    const std::string where = "messages[" + std::to_string(i) + "]";
    const nlohmann::json& m = in[i];
    if (!m.is_object()) return bad_request("'" + where + "' must be an object", where);
    if (!m.contains("role") || !m["role"].is_string()) {
      return bad_request("'" + where + ".role' must be a string", where + ".role");
    }
    const std::string role = m["role"];
    if (role != "system" && role != "user" && role != "assistant" && role != "tool" &&
        role != "developer") {
      return unprocessable("'" + where + ".role' must be one of system, developer, user, "
                           "assistant, tool; got '" + role + "'", where + ".role");
    }
    std::string content;
    if (m.contains("content") && !m["content"].is_null()) {
      const nlohmann::json& c = m["content"];
      if (c.is_string()) {
        content = c.get<std::string>();
      } else if (c.is_array()) {
        for (const auto& part : c) {
          if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
              !part["text"].is_string()) {
            return unprocessable("'" + where + ".content' parts must be {\"type\": \"text\", "
                                 "\"text\": string} (only text is supported)", where + ".content");
          }
          content += part["text"].get<std::string>();
        }
      } else {
        return bad_request("'" + where + ".content' must be a string or an array of parts",
                           where + ".content");
      }
    }
    out.push_back({{"role", role}, {"content", content}});
  }
  return out;
}

std::variant<ChatRequest, ApiError> parse_chat_request(std::string_view body,
                                                       int64_t vocab_size) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad_request("the request body is not valid JSON");
  if (!j.is_object()) return bad_request("the request body must be a JSON object");
  ChatRequest r;
  JsonFields f(j);
  if (!f.has("model")) return bad_request("'model' is required", "model");
  if (!f.string("model", r.model)) return f.error();
  if (!j.contains("messages")) return bad_request("'messages' is required", "messages");
  auto messages = chat_messages(j["messages"]);
  if (auto* e = std::get_if<ApiError>(&messages)) return *e;
  r.messages = std::move(std::get<nlohmann::ordered_json>(messages));

  if (auto e = parse_generation_fields(j, vocab_size, /*text_completion=*/false, r)) return *e;
  return r;
}

}  // namespace trimserve::api
