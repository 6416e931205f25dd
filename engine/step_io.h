// What one engine step consumes and produces.
//
// Dimension legend (DESIGN.md §7.9): T tokens in the step (sum over sequences), S sequences,
// T_s tokens of sequence s, L layers, H q-heads, Hkv kv-heads, D head dim, C hidden, V vocab,
// B page size.
//
// A step runs every layer once for all T tokens (one weight pass for the whole batch). For
// sequence s, token t (0-based within the step) sits at position start_pos + t and attends to
// the lane's `len` cached entries plus the step's own tokens 0..t (causal). The engine writes
// the new K/V rows of token t into lane index len + t (the KvPool reserved the room), so after
// the step the lane holds len + T_s entries in order.
#pragma once

#include <cstdint>
#include <vector>

#include "kvpool/types.h"

namespace trimserve {

enum class LogitsMode {
  kNone,  // a prompt chunk that does not end the prompt: no logits needed
  kLast,  // logits of the last token only (end of prompt, or a decode step)
  kAll,   // logits of every token of the chunk (scoring / perplexity)
};

struct SequenceStepInput {
  SeqId seq = 0;
  std::vector<int32_t> tokens;  // [T_s]
  int64_t start_pos = 0;        // position of tokens[0]
  std::vector<LaneView> lanes;  // [L*Hkv]: lanes[l*Hkv + h]; capacity >= len + T_s
  LogitsMode logits = LogitsMode::kLast;
};

struct StepInput {
  std::vector<SequenceStepInput> seqs;  // S entries
};

struct SequenceStepOutput {
  SeqId seq = 0;
  int64_t num_logit_rows = 0;     // 0, 1 or T_s (per LogitsMode)
  std::vector<float> logits;      // [num_logit_rows, V]
  std::vector<float> log_beta;    // [T_s, L, Hkv]; zeros when the model has no retention gates
};

struct StepOutput {
  std::vector<SequenceStepOutput> seqs;  // same order as StepInput::seqs
};

}  // namespace trimserve
