// OutputProcessor: what happens to one request's logits after an engine step — sample the next
// token (penalties see the prompt and the output so far), decide whether generation finished
// (EOS / stop tokens, stop strings, max_tokens; vLLM's order) and produce the text that may be
// shown now (detokenized incrementally, stop strings held back and cut, EOS text hidden).
//
// One per request, owned by the thread that runs the request (the CLI's generation loop, the
// daemon's engine loop); no locking. The tokenizer must outlive it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/sampler.h"
#include "engine/sampling_params.h"
#include "engine/stop_matcher.h"
#include "engine/streaming_decoder.h"
#include "engine/tokenizer.h"

namespace trimserve {

class OutputProcessor {
 public:
  // Precondition: validate(params, V) succeeded.
  OutputProcessor(const SamplingParams& params, const Tokenizer& tokenizer,
                  std::vector<int64_t> eos_token_ids);

  struct Step {
    int32_t token = 0;
    std::string text;  // visible text that became final with this token (may be empty)
    FinishReason finish = FinishReason::kNone;
    int32_t stop_index = -1;  // which stop string ended it, or -1
    // When params.logprobs: the raw logprob of `token` and params.top_logprobs alternatives
    // (Sampler::sample_with_logprobs); nullopt otherwise.
    std::optional<SampleResult> logprobs;
  };

  // Samples from `logits` [V] and processes the token. Precondition: !finished().
  Step next(std::span<const float> logits, std::span<const int32_t> prompt);

  // Generation ended from outside (cancel, error): the text still held back.
  std::string flush();

  const std::vector<int32_t>& output() const { return output_; }
  bool finished() const { return finish_ != FinishReason::kNone; }
  FinishReason finish_reason() const { return finish_; }

 private:
  bool want_logprobs_;
  Sampler sampler_;
  FinishChecker checker_;
  StopMatcher stops_;
  StreamingDecoder decoder_;
  std::vector<int32_t> output_;
  FinishReason finish_ = FinishReason::kNone;
};

}  // namespace trimserve
