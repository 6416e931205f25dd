// SamplingParams: the per-request decoding knobs, with OpenAI / vLLM names, meanings and
// defaults, plus the one validate() that checks a request's values before it is admitted.
//
// Transports parse JSON/proto into this struct and call validate(); the engine thread only
// ever sees validated params (the Sampler and FinishChecker TS_CHECK that, they do not
// re-report it). Plain data: copyable, no thread affinity.
//
// Ranges (where OpenAI and vLLM differ, the choice is stated):
//   max_tokens          >= 1. The upper bound (context length minus prompt) is checked by the
//                       caller, which knows the model.
//   temperature         finite and >= 0 (vLLM; OpenAI's extra cap of 2 is not applied).
//                       Below kGreedyTemperature the request is greedy (argmax).
//   top_p               in (0, 1]; 1 disables it.
//   top_k               -1 or 0 disable it; otherwise >= 1 (values above V act as disabled).
//   min_p               in [0, 1]; 0 disables it.
//   presence_penalty,
//   frequency_penalty   in [-2, 2] (both APIs); 0 disables them.
//   repetition_penalty  finite and > 0 (vLLM); 1 disables it.
//   stop                at most kMaxStopStrings strings, each non-empty and at most
//                       kMaxStopStringBytes bytes (bounds how much text is held back).
//   stop_token_ids      at most kMaxStopTokenIds ids, each in [0, V).
//   top_logprobs        in [0, kMaxTopLogprobs]; > 0 requires logprobs (as OpenAI chat does).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace trimserve {

inline constexpr double kGreedyTemperature = 1e-5;  // vLLM's _SAMPLING_EPS
inline constexpr size_t kMaxStopStrings = 16;
inline constexpr size_t kMaxStopStringBytes = 256;
inline constexpr size_t kMaxStopTokenIds = 64;
inline constexpr int32_t kMaxTopLogprobs = 20;

struct SamplingParams {
  int64_t max_tokens = 16;  // vLLM's completions default; chat callers usually set it
  double temperature = 1.0;
  double top_p = 1.0;
  int32_t top_k = 0;
  double min_p = 0.0;
  std::optional<uint64_t> seed;  // unset: the sampler seeds itself from std::random_device
  double presence_penalty = 0.0;
  double frequency_penalty = 0.0;
  double repetition_penalty = 1.0;
  std::vector<std::string> stop;
  std::vector<int32_t> stop_token_ids;
  bool ignore_eos = false;
  bool logprobs = false;     // report the chosen token's logprob
  int32_t top_logprobs = 0;  // and this many most likely alternatives per position
};

// Ok, or kInvalidArgument naming the first offending field and its value, e.g.
// "top_p must be in (0, 1], got 1.5". vocab_size is V of the serving model (> 0).
Status validate(const SamplingParams& params, int64_t vocab_size);

// Whether the request decodes by argmax (temperature below kGreedyTemperature).
bool is_greedy(const SamplingParams& params);

}  // namespace trimserve
