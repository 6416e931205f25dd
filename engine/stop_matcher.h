// When a request's generation finishes, and which of its text may be shown so far.
//
// StopMatcher watches the decoded text for the request's stop strings. Text arrives as
// deltas (whatever the detokenizer produced for the latest token); feed() returns the part
// that is safe to emit now. It holds back
//   - the longest suffix that is a proper prefix of some stop string (it may still grow into
//     a match; it is released as soon as it cannot), and
//   - an unfinished UTF-8 sequence at the very end (so emitted chunks never split a code
//     point when the deltas are split mid-character).
// On a match, the text before the stop string is emitted, the stop string and everything
// after it are dropped (OpenAI behaviour; vLLM's default include_stop_str_in_output=false),
// and the matcher is done. Matching is byte-wise; stop strings and text are UTF-8.
// If several stop strings match, the one that *ends* first wins (ties: the one starting
// first, i.e. the longer), which is the one a character-at-a-time stream would have hit:
// the result does not depend on how the text was split into deltas.
//
// FinishChecker decides the token-level finish reasons. The per-token order (vLLM's
// StopChecker) is: EOS / stop_token_ids -> stop strings -> max_tokens, so a caller that
// gets kLength from on_token() and then a stop-string match reports "stop".
//
// Both are plain per-request objects for the one thread that owns the request; no locking.
// They know nothing of HTTP or gRPC.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/sampling_params.h"

namespace trimserve {

class StopMatcher {
 public:
  struct Output {
    std::string text;         // safe to emit now (may be empty)
    bool stopped = false;     // a stop string matched; the request is finished
    int32_t stop_index = -1;  // which entry of `stop` matched (vLLM's stop_reason), or -1
  };

  // Precondition: every stop string is non-empty (validate() guarantees it).
  explicit StopMatcher(std::vector<std::string> stop);

  // Appends the next delta. After a match, further calls return an empty Output with
  // stopped = true and the same stop_index.
  Output feed(std::string_view delta);

  // Generation ended for another reason (EOS, length, cancel): returns whatever was held back.
  // Empty after a match (the tail after a stop string is never shown).
  std::string flush();

  bool stopped() const { return stop_index_ >= 0; }
  // Bytes currently held back (for tests and metrics).
  size_t num_pending_bytes() const { return pending_.size(); }

 private:
  // Length of the longest suffix of pending_ that is a proper prefix of some stop string.
  size_t partial_match_length() const;

  std::vector<std::string> stop_;
  std::string pending_;  // fed but not yet emitted
  int32_t stop_index_ = -1;
};

enum class FinishReason {
  kNone,    // keep generating
  kStop,    // EOS, a stop token or a stop string
  kLength,  // max_tokens reached
};

// "stop" / "length" as the OpenAI APIs spell them; "" for kNone.
const char* finish_reason_name(FinishReason reason);

class FinishChecker {
 public:
  struct Decision {
    FinishReason reason = FinishReason::kNone;
    // The token was EOS or a stop token: its text is not shown (vLLM v1 drops it unless
    // include_stop_str_in_output; OpenAI never shows <|im_end|>), though it still counts
    // as a generated token.
    bool hide_token_text = false;
  };

  // eos_token_ids: the model's EOS ids (config.json / generation_config.json; may be several).
  // Ignored when params.ignore_eos, as in vLLM; stop_token_ids always apply.
  FinishChecker(const SamplingParams& params, std::vector<int64_t> eos_token_ids);

  // Called once per sampled token; num_output_tokens counts the outputs including `token`.
  Decision on_token(int32_t token, int64_t num_output_tokens) const;

 private:
  int64_t max_tokens_;
  std::vector<int64_t> stop_ids_;  // EOS (unless ignore_eos) + stop_token_ids, sorted
};

}  // namespace trimserve
