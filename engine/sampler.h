// Sampler: turns one row of model logits [V] into the next token of one request, following
// vLLM's order of operations:
//
//   1. penalties, on a copy of the logits (vLLM / HF semantics):
//        repetition  for every distinct token in prompt + output:
//                    logit > 0 ? logit / repetition_penalty : logit * repetition_penalty
//        frequency   logit -= frequency_penalty * (times the token occurs in the output)
//        presence    logit -= presence_penalty  * (1 if the token occurs in the output)
//   2. greedy (temperature < kGreedyTemperature): argmax of the penalised logits, ties to the
//      lowest id; the filters below are skipped (they never change the argmax).
//   3. temperature: p_i ∝ exp((logit_i - max) / temperature), in double.
//   4. filters, in vLLM v1's order (min_p, then top_k, then top_p), each on what is left:
//        min_p   keeps tokens with p_i >= min_p * p_max (relative to the most likely token);
//        top_k   keeps exactly k tokens, most likely first, ties to the lower id;
//        top_p   keeps the shortest most-likely-first prefix whose mass reaches top_p of the
//                mass left (a token is kept iff the mass strictly before it is < top_p).
//      min_p and top_k both keep a most-likely-first prefix, so they commute; top_k runs
//      first because it works on logits and spares the exp of every token it drops.
//   5. a draw from the renormalised survivors by inverse CDF with a uniform double in [0, 1).
//
// Reproducibility: the RNG is std::mt19937_64 (its output is fixed by the C++ standard),
// seeded with params.seed when given, else from std::random_device. The uniform double is
// built from the top 53 bits of one 64-bit draw, and the survivors are visited in an order
// fixed by this file alone: id order, or after top_p the arrangement our own quickselect
// (fixed pivot sequence, total order (logit desc, id asc)) leaves, never a standard-library
// heap or nth_element layout. So the same seed and the same logits give the same tokens on
// every run and machine (given the same libm exp). Exactly one draw is consumed per
// non-greedy sample(); greedy consumes none.
//
// Cost, V = vocabulary: without top_k / top_p, two streaming passes and no [V] scratch;
// top_k is one pass with a k-entry heap (only heap entrants pay an exp); top_p finds its
// nucleus with a mass-weighted quickselect, expected O(survivors), no sort.
//
// Logprobs are the log-softmax of the *raw* model logits (before penalties, temperature and
// filters), which is what OpenAI and vLLM (logprobs_mode "raw_logprobs") report by default.
//
// Logits contract: size V >= 1, no +inf, and at least one finite entry (TS_CHECK: logits come
// from our engine, not from users); -inf masks a token and a NaN entry is treated as -inf.
// Penalties keep finite logits finite (clamped to the float range). Token ids in prompt and
// output lie in [0, V) (TS_CHECK: they came from our own tokenizer and sampler).
//
// Threading: one Sampler per request; sample() advances its RNG, so one thread at a time.
// Distinct Samplers share nothing and may run on different threads at once (a batch can be
// sampled in parallel). Scratch is per call (O(V) only for penalties and for top_p without
// top_k) rather than [V] buffers held for the life of every request.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "engine/sampling_params.h"

namespace trimserve {

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0.0f;
};

struct SampleResult {
  int32_t token = 0;
  float logprob = 0.0f;                    // raw log-softmax at `token`
  std::vector<TokenLogprob> top_logprobs;  // params.top_logprobs entries, most likely first
};

// Log-softmax of raw logits [V] at `token`, plus the `num_top` most likely tokens (ties to the
// lower id; num_top is clamped to V). Computed in double; rounded to float on return.
// O(V * num_top) worst case: meant for num_top <= kMaxTopLogprobs.
SampleResult compute_logprobs(std::span<const float> logits, int32_t token, int32_t num_top);

class Sampler {
 public:
  // Precondition: validate(params, V) returned ok (the ranges are TS_CHECKed again here).
  explicit Sampler(const SamplingParams& params);

  // The next token. logits: [V]; prompt_tokens / output_tokens: this request's history
  // (used by the penalties only).
  int32_t sample(std::span<const float> logits, std::span<const int32_t> prompt_tokens,
                 std::span<const int32_t> output_tokens);

  // sample() plus the raw logprob of the chosen token and params.top_logprobs alternatives.
  SampleResult sample_with_logprobs(std::span<const float> logits,
                                    std::span<const int32_t> prompt_tokens,
                                    std::span<const int32_t> output_tokens);

  // Step 1 alone, in place on `logits` [V]. Does not touch the RNG.
  void apply_penalties(std::span<float> logits, std::span<const int32_t> prompt_tokens,
                       std::span<const int32_t> output_tokens) const;

  // The exact distribution sample() draws from, dense [V] (zeros for filtered tokens; one-hot
  // for greedy). Does not touch the RNG. For tests and scoring tools.
  std::vector<double> distribution(std::span<const float> logits,
                                   std::span<const int32_t> prompt_tokens,
                                   std::span<const int32_t> output_tokens) const;

  // The seed in use (params.seed, or the one drawn from std::random_device), for logging so
  // an unseeded request can be replayed.
  uint64_t seed() const { return seed_; }

 private:
  bool has_penalties() const;
  // `logits` itself when no penalty is active, else a penalised copy kept in `buf`.
  std::span<const float> penalized(std::span<const float> logits,
                                   std::span<const int32_t> prompt_tokens,
                                   std::span<const int32_t> output_tokens,
                                   std::vector<float>& buf) const;
  double next_uniform();

  SamplingParams params_;
  uint64_t seed_;
  std::mt19937_64 rng_;
};

}  // namespace trimserve
