#include "server/api/generation_fields.h"

#include "server/api/json_fields.h"

namespace trimserve::api {

namespace {

// `logprobs` and `top_logprobs` as the endpoint spells them (see the header).
std::optional<ApiError> parse_logprobs(JsonFields& f, bool text_completion, SamplingParams& s) {
  std::optional<int64_t> top;
  if (text_completion) {
    if (!f.optional_integer("logprobs", top)) return f.error();
    s.logprobs = top.has_value();
  } else {
    int64_t n = 0;
    if (!f.boolean("logprobs", s.logprobs) || !f.integer("top_logprobs", n)) return f.error();
    top = n;
  }
  const char* param = text_completion ? "logprobs" : "top_logprobs";
  if (top && (*top < 0 || *top > kMaxTopLogprobs)) {
    return unprocessable(std::string(param) + " must be in [0, " +
                         std::to_string(kMaxTopLogprobs) + "], got " + std::to_string(*top),
                         param);
  }
  s.top_logprobs = static_cast<int32_t>(top.value_or(0));
  if (s.top_logprobs > 0 && !s.logprobs) {
    return unprocessable("top_logprobs requires logprobs to be true", "top_logprobs");
  }
  return std::nullopt;
}

}  // namespace

std::optional<ApiError> parse_generation_fields(const nlohmann::json& j, int64_t vocab_size,
                                                bool text_completion, GenerationFields& out) {
  JsonFields f(j);
  SamplingParams& s = out.sampling;
  int64_t max_tokens = 0, n = 1, top_k = s.top_k, seed = 0;
  out.max_tokens_given = f.has("max_completion_tokens") || f.has("max_tokens");
  const char* max_name = f.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  bool has_seed = f.has("seed");
  const bool types_ok =
      f.integer(max_name, max_tokens) && f.number("temperature", s.temperature) &&
      f.number("top_p", s.top_p) && f.integer("top_k", top_k) && f.number("min_p", s.min_p) &&
      f.integer("seed", seed) && f.integer("n", n) && f.strings("stop", s.stop) &&
      f.number("presence_penalty", s.presence_penalty) &&
      f.number("frequency_penalty", s.frequency_penalty) &&
      f.number("repetition_penalty", s.repetition_penalty) && f.string("user", out.user) &&
      f.boolean("stream", out.stream) && f.boolean("ignore_eos", s.ignore_eos) &&
      f.optional_string("session_id", out.session_id) &&
      f.optional_string("kv_policy", out.kv.policy) && f.optional_integer("kv_budget", out.kv.budget);
  if (!types_ok) return f.error();
  if (auto e = parse_logprobs(f, text_completion, s)) return e;
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
  if (has_seed) s.seed = static_cast<uint64_t>(seed);
  if (out.session_id && out.session_id->empty()) {
    return unprocessable("'session_id' must not be empty", "session_id");
  }
  if (Status v = validate(s, vocab_size); !v.ok()) {
    // The message starts with the field's name.
    const std::string& m = v.message();
    return unprocessable(m, m.substr(0, m.find(' ')));
  }
  return std::nullopt;
}

}  // namespace trimserve::api
