#include "server/api/chat_request.h"

#include "server/api/json_fields.h"

namespace trimserve::api {

namespace {

// messages[i].content: a string, or an array of {"type": "text", "text": ...} parts (joined).
std::variant<nlohmann::ordered_json, ApiError> normalize_messages(const nlohmann::json& in) {
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

}  // namespace

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
  auto messages = normalize_messages(j["messages"]);
  if (auto* e = std::get_if<ApiError>(&messages)) return *e;
  r.messages = std::move(std::get<nlohmann::ordered_json>(messages));

  SamplingParams& s = r.sampling;
  int64_t max_tokens = 0, n = 1, top_k = s.top_k, top_logprobs = 0, seed = 0;
  r.max_tokens_given = f.has("max_completion_tokens") || f.has("max_tokens");
  const char* max_name = f.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  bool has_seed = f.has("seed");
  const bool types_ok =
      f.integer(max_name, max_tokens) && f.number("temperature", s.temperature) &&
      f.number("top_p", s.top_p) && f.integer("top_k", top_k) && f.number("min_p", s.min_p) &&
      f.integer("seed", seed) && f.integer("n", n) && f.strings("stop", s.stop) &&
      f.number("presence_penalty", s.presence_penalty) &&
      f.number("frequency_penalty", s.frequency_penalty) &&
      f.number("repetition_penalty", s.repetition_penalty) && f.boolean("logprobs", s.logprobs) &&
      f.integer("top_logprobs", top_logprobs) && f.string("user", r.user) &&
      f.boolean("stream", r.stream) && f.boolean("ignore_eos", s.ignore_eos) &&
      f.optional_string("session_id", r.session_id) &&
      f.optional_string("kv_policy", r.kv.policy) && f.optional_integer("kv_budget", r.kv.budget);
  if (!types_ok) return f.error();
  if (j.contains("stream_options") && !j["stream_options"].is_null()) {
    if (!j["stream_options"].is_object()) {
      return bad_request("'stream_options' must be an object", "stream_options");
    }
    JsonFields so(j["stream_options"]);
    if (!so.boolean("include_usage", r.include_usage)) return so.error();
  }
  if (n != 1) return unprocessable("only n = 1 is supported, got " + std::to_string(n), "n");
  if (r.max_tokens_given) {
    if (max_tokens < 1) {
      return unprocessable(std::string(max_name) + " must be >= 1, got " +
                           std::to_string(max_tokens), max_name);
    }
    s.max_tokens = max_tokens;
  }
  if (top_k < INT32_MIN || top_k > INT32_MAX) return unprocessable("top_k out of range", "top_k");
  s.top_k = static_cast<int32_t>(top_k);
  if (top_logprobs < 0 || top_logprobs > kMaxTopLogprobs) {
    return unprocessable("top_logprobs must be in [0, " + std::to_string(kMaxTopLogprobs) + "]",
                         "top_logprobs");
  }
  s.top_logprobs = static_cast<int32_t>(top_logprobs);
  if (has_seed) s.seed = static_cast<uint64_t>(seed);
  if (r.session_id && r.session_id->empty()) {
    return unprocessable("'session_id' must not be empty", "session_id");
  }
  if (Status v = validate(s, vocab_size); !v.ok()) {
    // The message starts with the field's name.
    const std::string& m = v.message();
    return unprocessable(m, m.substr(0, m.find(' ')));
  }
  return r;
}

}  // namespace trimserve::api
