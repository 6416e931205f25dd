#include "server/api/generation_fields.h"

#include "server/api/json_fields.h"

namespace trimserve::api {

std::optional<ApiError> parse_generation_fields(const nlohmann::json& j, int64_t vocab_size,
                                                GenerationFields& out) {
  JsonFields f(j);
  SamplingParams& s = out.sampling;
  int64_t max_tokens = 0, n = 1, top_k = s.top_k, top_logprobs = 0, seed = 0;
  out.max_tokens_given = f.has("max_completion_tokens") || f.has("max_tokens");
  const char* max_name = f.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  bool has_seed = f.has("seed");
  const bool types_ok =
      f.integer(max_name, max_tokens) && f.number("temperature", s.temperature) &&
      f.number("top_p", s.top_p) && f.integer("top_k", top_k) && f.number("min_p", s.min_p) &&
      f.integer("seed", seed) && f.integer("n", n) && f.strings("stop", s.stop) &&
      f.number("presence_penalty", s.presence_penalty) &&
      f.number("frequency_penalty", s.frequency_penalty) &&
      f.number("repetition_penalty", s.repetition_penalty) && f.boolean("logprobs", s.logprobs) &&
      f.integer("top_logprobs", top_logprobs) && f.string("user", out.user) &&
      f.boolean("stream", out.stream) && f.boolean("ignore_eos", s.ignore_eos) &&
      f.optional_string("session_id", out.session_id) &&
      f.optional_string("kv_policy", out.kv.policy) && f.optional_integer("kv_budget", out.kv.budget);
  if (!types_ok) return f.error();
  if (j.contains("stream_options") && !j["stream_options"].is_null()) {
    if (!j["stream_options"].is_object()) {
      return bad_request("'stream_options' must be an object", "stream_options");
    }
    JsonFields so(j["stream_options"]);
    if (!so.boolean("include_usage", out.include_usage)) return so.error();
  }
  if (n != 1) return unprocessable("only n = 1 is supported, got " + std::to_string(n), "n");
  if (out.max_tokens_given) {
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
  if (out.session_id && out.session_id->empty()) {
    return unprocessable("'session_id' must not be empty", "session_id");
  }
  if (s.logprobs || s.top_logprobs > 0) {
    return unprocessable("logprobs are not served yet", s.logprobs ? "logprobs" : "top_logprobs");
  }
  if (Status v = validate(s, vocab_size); !v.ok()) {
    // The message starts with the field's name.
    const std::string& m = v.message();
    return unprocessable(m, m.substr(0, m.find(' ')));
  }
  return std::nullopt;
}

}  // namespace trimserve::api
