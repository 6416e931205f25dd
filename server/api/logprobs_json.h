// OpenAI's logprobs objects, built from the engine's SampleResults (raw log-softmax of the
// model's logits, engine/sampler.h) as a request's tokens arrive.
//
// Chat completions: {"content": [{"token", "logprob", "bytes", "top_logprobs": [{"token",
// "logprob", "bytes"}, ...]}, ...], "refusal": null}.
// Legacy completions (request field `logprobs: N`): {"tokens": [...], "token_logprobs": [...],
// "top_logprobs": [{token: logprob, ...}, ...], "text_offset": [...]}; as vLLM does, each
// top_logprobs map holds the N most likely tokens plus the sampled one.
//
// "token" is the token's text as decode() gives it (a partial UTF-8 character shows as U+FFFD,
// special tokens as their spelling), "bytes" its raw bytes. A token the sampler could never
// draw (logit -inf) has logprob -9999.0, OpenAI's stand-in, since JSON has no infinity.
// text_offset counts bytes of token text from the start of the completion.
//
// One per request, used by one thread at a time; the tokenizer must outlive it.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/sampler.h"
#include "engine/tokenizer.h"

namespace trimserve::api {

// The logprob a response carries: -inf (a token the sampler could never draw) becomes
// OpenAI's stand-in -9999.0 (gRPC's TokenLogprob uses it too).
double finite_logprob(float logprob);

// A token's text as decode() gives it alone (a partial UTF-8 character shows as U+FFFD).
std::string token_text(const Tokenizer& tokenizer, int32_t token);

class LogprobsJson {
 public:
  LogprobsJson(const Tokenizer& tokenizer, bool text_completion);

  // Appends one sampled token.
  void add(const SampleResult& token);
  bool empty() const { return pending_ == 0; }

  // The object for the tokens added since the last take() (streaming sends each chunk's own
  // tokens), or null when there are none; text offsets keep counting across takes.
  nlohmann::json take();

 private:
  nlohmann::json entry(int32_t token, float logprob) const;

  const Tokenizer& tokenizer_;
  bool text_completion_;
  nlohmann::json body_;
  int64_t pending_ = 0;
  int64_t text_offset_ = 0;
};

}  // namespace trimserve::api
