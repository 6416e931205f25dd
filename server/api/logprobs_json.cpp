#include "server/api/logprobs_json.h"

#include <cmath>
#include <vector>

namespace trimserve::api {

namespace {

constexpr double kNoLogprob = -9999.0;  // OpenAI's value for a token with probability 0

}  // namespace

double finite_logprob(float logprob) {
  return std::isfinite(logprob) ? static_cast<double>(logprob) : kNoLogprob;
}

std::string token_text(const Tokenizer& tokenizer, int32_t token) {
  const int32_t ids[] = {token};
  return tokenizer.decode(ids);
}

LogprobsJson::LogprobsJson(const Tokenizer& tokenizer, bool text_completion)
    : tokenizer_(tokenizer), text_completion_(text_completion) {}

nlohmann::json LogprobsJson::entry(int32_t token, float logprob) const {
  const std::string bytes = tokenizer_.id_to_bytes(token);
  std::vector<int> byte_values(bytes.begin(), bytes.end());
  for (int& b : byte_values) b &= 0xff;
  return {{"token", token_text(tokenizer_, token)}, {"logprob", finite_logprob(logprob)},
          {"bytes", byte_values}};
}

void LogprobsJson::add(const SampleResult& r) {
  ++pending_;
  const std::string text = token_text(tokenizer_, r.token);
  if (!text_completion_) {
    nlohmann::json top = nlohmann::json::array();
    for (const TokenLogprob& alt : r.top_logprobs) top.push_back(entry(alt.token, alt.logprob));
    nlohmann::json e = entry(r.token, r.logprob);
    e["top_logprobs"] = std::move(top);
    body_["content"].push_back(std::move(e));
    return;
  }
  nlohmann::json top = nlohmann::json::object();
  for (const TokenLogprob& alt : r.top_logprobs) {
    top[token_text(tokenizer_, alt.token)] = finite_logprob(alt.logprob);
  }
  top[text] = finite_logprob(r.logprob);
  body_["tokens"].push_back(text);
  body_["token_logprobs"].push_back(finite_logprob(r.logprob));
  body_["top_logprobs"].push_back(std::move(top));
  body_["text_offset"].push_back(text_offset_);
  text_offset_ += static_cast<int64_t>(text.size());
}

nlohmann::json LogprobsJson::take() {
  if (pending_ == 0) return nullptr;
  nlohmann::json out = std::move(body_);
  if (!text_completion_) out["refusal"] = nullptr;
  body_ = nlohmann::json();
  pending_ = 0;
  return out;
}

}  // namespace trimserve::api
