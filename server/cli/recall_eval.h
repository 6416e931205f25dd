// `trimserve eval --task recall`: can the model still answer a question about a fact stated
// many turns earlier once the KV cache has been cut to the budget?
//
// Protocol, per dialogue (server/cli/eval_dataset.h has the line format):
//   - The conversation is the turns' user/assistant messages (teacher-forced: the given
//     assistant text, never generated) followed by the question as the last user message.
//     The prompt is the whole conversation rendered with the model's chat template, generation
//     prompt added (`generate --messages` renders it identically).
//   - It is fed through ONE SequenceRunner sequence, turn by turn: turn k ends where the
//     tokens of the conversation rendered up to user message k (generation prompt added) stop
//     agreeing with the whole prompt's (their longest common prefix) — so turn k is assistant
//     reply k-1 plus user message k, fed up to where the model would answer it (with ChatML
//     templates each such rendering is an exact prefix); the last turn is the question.
//     Each turn's tokens are prefilled in chunks of --prefill-chunk with the policy
//     compressing after every step, and the KV entries retained are recorded after each turn.
//   - Then the reply is decoded greedily (the generation loop of `generate`) up to
//     --max-answer-tokens, stopping at EOS or <|im_end|>, and is correct when
//     answers_match(reply, answer).
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "server/cli/eval_dataset.h"
#include "server/cli/eval_options.h"
#include "server/cli/eval_result.h"
#include "server/cli/model_bundle.h"
#include "server/cli/progress_bar.h"

namespace trimserve::cli {

struct PreparedDialogue {
  const RecallExample* example = nullptr;
  std::vector<int32_t> tokens;     // the whole rendered prompt, question included
  std::vector<int64_t> turn_ends;  // end of each turn in `tokens`; back() == tokens.size()
};

// Renders and tokenizes every dialogue once (the same for every configuration). Errors:
// no chat template (kFailedPrecondition), a template error, a dialogue that does not fit the
// model's context with --max-answer-tokens (kOutOfRange, "FILE:LINE: ..."); all exit 2.
Result<std::vector<PreparedDialogue>> prepare_recall(const std::vector<RecallExample>& examples,
                                                     const ModelBundle& model,
                                                     const EvalOptions& opt);

// Runs every dialogue under `config` on a fresh engine; advances `progress` per dialogue.
// Errors: engine failures (runtime), naming the dialogue.
Result<RecallScore> run_recall(const std::vector<PreparedDialogue>& dialogues,
                               const ModelBundle& model, const EvalOptions& opt,
                               const EvalConfig& config, ProgressBar& progress);

}  // namespace trimserve::cli
