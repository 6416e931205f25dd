#include "server/cli/perplexity_eval.h"

#include <algorithm>
#include <cmath>
#include <span>
#include <string>

#include "server/cli/generation_loop.h"

namespace trimserve::cli {

namespace {

// -log softmax(row)[target], in double.
double token_nll(std::span<const float> row, int32_t target) {
  const float max = *std::max_element(row.begin(), row.end());
  double sum = 0;
  for (float x : row) sum += std::exp(static_cast<double>(x) - max);
  return std::log(sum) + max - static_cast<double>(row[static_cast<size_t>(target)]);
}

}  // namespace

Result<PreparedTexts> prepare_texts(const std::vector<TextExample>& examples,
                                    const ModelBundle& model, const EvalOptions& opt) {
  const int64_t context = model.weights->config.max_position_embeddings;
  if (opt.max_tokens_per_doc && *opt.max_tokens_per_doc > context) {
    return invalid_argument("--max-tokens-per-doc " + std::to_string(*opt.max_tokens_per_doc) +
                            " exceeds the model's max_position_embeddings " +
                            std::to_string(context));
  }
  PreparedTexts p;
  p.window = opt.max_tokens_per_doc.value_or(context);
  bool any_scored = false;
  for (const TextExample& ex : examples) {
    std::vector<int32_t> ids = model.tokenizer->encode(ex.text, /*parse_special=*/false);
    any_scored = any_scored || ids.size() >= 2;
    p.longest_window = std::max(p.longest_window, std::min<int64_t>(p.window, ids.size()));
    p.examples.push_back(&ex);
    p.tokens.push_back(std::move(ids));
  }
  if (!any_scored) {
    return invalid_argument(opt.data_path + ": every text is a single token; nothing to score");
  }
  return p;
}

Result<PerplexityScore> run_perplexity(const PreparedTexts& texts, const ModelBundle& model,
                                       const EvalOptions& opt, const EvalConfig& config,
                                       ProgressBar& progress) {
  const GenerateOptions gopt = generation_options(opt, config);
  auto ctx = make_generation_context(model, gopt, texts.longest_window);
  if (!ctx.ok()) return ctx.status();
  SequenceRunnerOptions ro;
  ro.kv = config.kv;
  ro.prefill_chunk = opt.prefill_chunk;
  const size_t V = static_cast<size_t>(model.weights->config.vocab_size);

  PerplexityScore score;
  SeqId next_seq = 1;
  for (size_t i = 0; i < texts.tokens.size(); ++i) {
    const std::vector<int32_t>& ids = texts.tokens[i];
    const std::string who = "text \"" + texts.examples[i]->id + "\"";
    // Windows [start, start + W); a one-token tail has nothing to score and is left out.
    for (size_t start = 0; start + 1 < ids.size(); start += static_cast<size_t>(texts.window)) {
      const std::span<const int32_t> window = std::span<const int32_t>(ids).subspan(
          start, std::min<size_t>(texts.window, ids.size() - start));
      auto runner = SequenceRunner::create(*ctx->engine, *ctx->pool, next_seq++, ro);
      if (!runner.ok()) return runner.status().with_context(who);
      SequenceRunner& r = *runner;
      Status s = r.prefill_scored(window, [&](int64_t offset, std::span<const float> logits) {
        const size_t rows = logits.size() / V;
        for (size_t row = 0; row < rows; ++row) {
          const size_t next = static_cast<size_t>(offset) + row + 1;
          if (next >= window.size()) break;  // the last token predicts past the window
          score.nll_sum += token_nll(logits.subspan(row * V, V), window[next]);
          score.scored_tokens += 1;
        }
        score.chunks += 1;
        score.retained_sum += static_cast<double>(r.kv_stats().retained);
        return Status();
      });
      if (!s.ok()) return s.with_context(who);
      score.windows += 1;
    }
    progress.advance(1);
  }
  return score;
}

}  // namespace trimserve::cli
