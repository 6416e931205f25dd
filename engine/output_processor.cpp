#include "engine/output_processor.h"

#include <utility>

#include "common/check.h"

namespace trimserve {

OutputProcessor::OutputProcessor(const SamplingParams& params, const Tokenizer& tokenizer,
                                 std::vector<int64_t> eos_token_ids)
    : want_logprobs_(params.logprobs),
      sampler_(params),
      checker_(params, std::move(eos_token_ids)),
      stops_(params.stop),
      decoder_(tokenizer) {}

OutputProcessor::Step OutputProcessor::next(std::span<const float> logits,
                                            std::span<const int32_t> prompt) {
  TS_CHECK(!finished());
  Step step;
  if (want_logprobs_) {
    step.logprobs = sampler_.sample_with_logprobs(logits, prompt, output_);
    step.token = step.logprobs->token;
  } else {
    step.token = sampler_.sample(logits, prompt, output_);
  }
  output_.push_back(step.token);
  const auto decision = checker_.on_token(step.token, static_cast<int64_t>(output_.size()));
  if (!decision.hide_token_text) {
    auto out = stops_.feed(decoder_.push(step.token));
    step.text = std::move(out.text);
    if (out.stopped) {
      step.finish = FinishReason::kStop;
      step.stop_index = out.stop_index;
    }
  }
  if (step.finish == FinishReason::kNone && decision.reason != FinishReason::kNone) {
    step.finish = decision.reason;
    step.text += flush();
  }
  finish_ = step.finish;
  return step;
}

std::string OutputProcessor::flush() {
  std::string text = stops_.feed(decoder_.flush()).text;
  text += stops_.flush();
  return text;
}

}  // namespace trimserve
