#include "server/grpc/proto_convert.h"

#include "server/api/logprobs_json.h"

namespace trimserve::grpc_api {

nlohmann::json generation_json(const v1::SamplingParams& s, const v1::KvOptions& kv,
                               const std::string& session_id) {
  nlohmann::json j = nlohmann::json::object();
  if (s.has_max_tokens()) j["max_tokens"] = s.max_tokens();
  if (s.has_temperature()) j["temperature"] = s.temperature();
  if (s.has_top_p()) j["top_p"] = s.top_p();
  if (s.has_top_k()) j["top_k"] = s.top_k();
  if (s.has_min_p()) j["min_p"] = s.min_p();
  if (s.has_seed()) j["seed"] = s.seed();
  if (s.stop_size() > 0) j["stop"] = std::vector<std::string>(s.stop().begin(), s.stop().end());
  if (s.has_presence_penalty()) j["presence_penalty"] = s.presence_penalty();
  if (s.has_frequency_penalty()) j["frequency_penalty"] = s.frequency_penalty();
  if (s.has_repetition_penalty()) j["repetition_penalty"] = s.repetition_penalty();
  if (s.has_top_logprobs()) j["top_logprobs"] = s.top_logprobs();
  if (s.logprobs()) j["logprobs"] = true;
  if (s.ignore_eos()) j["ignore_eos"] = true;
  if (!kv.policy().empty()) j["kv_policy"] = kv.policy();
  if (kv.has_budget()) j["kv_budget"] = kv.budget();
  if (!session_id.empty()) j["session_id"] = session_id;
  return j;
}

nlohmann::json messages_json(const google::protobuf::RepeatedPtrField<v1::ChatMessage>& messages) {
  nlohmann::json out = nlohmann::json::array();
  for (const v1::ChatMessage& m : messages) {
    out.push_back({{"role", m.role()}, {"content", m.content()}});
  }
  return out;
}

void add_token(v1::GenerateChunk& chunk, const StreamEvent& e, const Tokenizer* logprobs_tokenizer) {
  chunk.add_token_ids(e.token);
  chunk.mutable_text()->append(e.text);
  if (logprobs_tokenizer == nullptr || !e.logprobs) return;
  v1::TokenLogprob* lp = chunk.add_logprobs();
  lp->set_token_id(e.logprobs->token);
  lp->set_token(api::token_text(*logprobs_tokenizer, e.logprobs->token));
  lp->set_logprob(static_cast<float>(api::finite_logprob(e.logprobs->logprob)));
  for (const TokenLogprob& t : e.logprobs->top_logprobs) {
    v1::TopLogprob* top = lp->add_top_logprobs();
    top->set_token_id(t.token);
    top->set_token(api::token_text(*logprobs_tokenizer, t.token));
    top->set_logprob(static_cast<float>(api::finite_logprob(t.logprob)));
  }
}

void set_usage(v1::Usage& out, const StreamUsage& usage) {
  out.set_prompt_tokens(static_cast<uint32_t>(usage.prompt_tokens));
  out.set_completion_tokens(static_cast<uint32_t>(usage.completion_tokens));
  out.set_cached_tokens(static_cast<uint32_t>(usage.cached_tokens));
}

}  // namespace trimserve::grpc_api
