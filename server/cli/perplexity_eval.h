// `trimserve eval --task perplexity`: how much worse does the model predict plain text when
// its KV cache is held to the budget?
//
// Protocol, per text (server/cli/eval_dataset.h has the line format):
//   - The text is tokenized as plain text (no chat template, special-token strings are text)
//     and cut into consecutive windows of at most W tokens, W = the model's
//     max_position_embeddings or --max-tokens-per-doc. Each window is one fresh sequence.
//   - A window is fed in chunks of --prefill-chunk tokens through SequenceRunner::
//     prefill_scored (one engine step per chunk, the policy compressing after each, the
//     logits of every position returned); token t of the window (t >= 1) is scored from the
//     logits at position t-1: NLL = logsumexp(logits) - logits[token], in double.
//   - Perplexity = exp(sum of NLL / number of scored tokens) over the whole dataset; the KV
//     entries retained are read after every chunk and averaged over all chunks.
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

struct PreparedTexts {
  std::vector<const TextExample*> examples;
  std::vector<std::vector<int32_t>> tokens;  // per example
  int64_t window = 0;                        // W above
  int64_t longest_window = 0;                // the longest window actually fed (engine sizing)
};

// Tokenizes every text once. Errors (exit 2): --max-tokens-per-doc above the model's context
// (kInvalidArgument); no text with two or more tokens, i.e. nothing to score.
Result<PreparedTexts> prepare_texts(const std::vector<TextExample>& examples,
                                    const ModelBundle& model, const EvalOptions& opt);

// Scores every text under `config` on a fresh engine; advances `progress` per text.
// Errors: engine failures (runtime), naming the text.
Result<PerplexityScore> run_perplexity(const PreparedTexts& texts, const ModelBundle& model,
                                       const EvalOptions& opt, const EvalConfig& config,
                                       ProgressBar& progress);

}  // namespace trimserve::cli
