// The CLI's generation machinery, shared by one-shot `generate` and its multi-turn session
// mode: an engine + KV pool sized for the run (GenerationContext), and the sample/feed loop
// that turns a prompt's last logits into a finished Generation.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/cpu/cpu_engine.h"
#include "engine/stop_matcher.h"
#include "kvpool/kv_pool.h"
#include "scheduler/sequence_runner.h"
#include "server/cli/generate_options.h"
#include "server/cli/model_bundle.h"

namespace trimserve::cli {

struct GenerationContext {
  std::unique_ptr<cpu::CpuEngine> engine;
  std::unique_ptr<KvPool> pool;
};

// Engine storage and pool pages for one sequence of up to `max_total_tokens` under opt.kv.
Result<GenerationContext> make_generation_context(const ModelBundle& model,
                                                  const GenerateOptions& opt,
                                                  int64_t max_total_tokens);

struct Generation {
  std::vector<int32_t> prompt;
  std::vector<int32_t> output;     // every sampled token; all but the last were fed back
  std::string text;                // what the user sees (stop strings and EOS text removed)
  FinishReason finish = FinishReason::kLength;
  std::vector<float> logits_rows;  // [output.size(), V] when opt.want_logits
  SequenceKvStats kv;
  double prefill_s = 0;  // wall time of the prompt's steps
  double decode_s = 0;   // wall time of sampling and decode steps
};

// Prefills `prompt` from token `start` on (the tokens before it are already in the runner's
// sequence, e.g. a resumed session), then samples and feeds tokens until a finish condition.
// Streams the visible text to stdout when `stream`.
Result<Generation> generate(SequenceRunner& runner, const ModelBundle& model,
                            const GenerateOptions& opt, std::vector<int32_t> prompt,
                            int64_t start, bool stream);

// The sampling half of generate(): the prompt (g.prompt; penalties see it) is already fed and
// `logits` are those after its last token. Samples, feeds each token back, and stops at a
// finish condition (EOS / stop tokens, stop strings, opt.sampling.max_tokens); fills g.output,
// text, finish, logits_rows (when opt.want_logits), kv and decode_s. `eval` decodes its recall
// answers with it after feeding the dialogue turn by turn.
Status continue_generation(SequenceRunner& runner, const ModelBundle& model,
                           const GenerateOptions& opt, std::vector<float> logits, Generation& g,
                           bool stream);

// Prompt tokens per second of prefill.
double prefill_rate(const Generation& g);
// Decode steps are one fewer than generated tokens: the last token is sampled, never fed.
double decode_rate(const Generation& g);

}  // namespace trimserve::cli
