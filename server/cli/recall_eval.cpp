#include "server/cli/recall_eval.h"

#include <algorithm>
#include <span>
#include <string>

#include "server/cli/generation_loop.h"

namespace trimserve::cli {

namespace {

using Messages = nlohmann::ordered_json;

Messages message(const char* role, const std::string& content) {
  return {{"role", role}, {"content", content}};
}

// The conversation up to user message k (k == turns.size(): the question).
Messages conversation_until(const RecallExample& ex, size_t k) {
  Messages m = Messages::array();
  for (size_t j = 0; j < k; ++j) {
    m.push_back(message("user", ex.turns[j].user));
    m.push_back(message("assistant", ex.turns[j].assistant));
  }
  m.push_back(message("user", k < ex.turns.size() ? ex.turns[k].user : ex.question));
  return m;
}

int64_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  const auto diff = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  return static_cast<int64_t>(diff.first - a.begin());
}

}  // namespace

Result<std::vector<PreparedDialogue>> prepare_recall(const std::vector<RecallExample>& examples,
                                                     const ModelBundle& model,
                                                     const EvalOptions& opt) {
  const GenerateOptions gopt = generation_options(opt, EvalConfig{});
  const int64_t context = model.weights->config.max_position_embeddings;
  std::vector<PreparedDialogue> out;
  for (const RecallExample& ex : examples) {
    const std::string at = opt.data_path + ":" + std::to_string(ex.line) + ": ";
    PreparedDialogue d;
    d.example = &ex;
    auto whole = encode_chat(gopt, model, conversation_until(ex, ex.turns.size()));
    if (!whole.ok())
      return whole.status().with_context(opt.data_path + ":" + std::to_string(ex.line));
    d.tokens = std::move(*whole);
    const int64_t n = static_cast<int64_t>(d.tokens.size());
    if (n + opt.max_answer_tokens > context) {
      return out_of_range(
          at + "dialogue \"" + ex.id + "\" renders to " + std::to_string(n) +
          " tokens; with --max-answer-tokens " + std::to_string(opt.max_answer_tokens) +
          " it exceeds the model's context of " + std::to_string(context) + " tokens");
    }
    int64_t end = 0;
    for (size_t k = 0; k < ex.turns.size(); ++k) {
      auto prefix = encode_chat(gopt, model, conversation_until(ex, k));
      if (!prefix.ok())
        return prefix.status().with_context(opt.data_path + ":" + std::to_string(ex.line));
      end = std::max(end, common_prefix(*prefix, d.tokens));
      d.turn_ends.push_back(end);
    }
    if (end >= n) {
      return failed_precondition(at + "the question of dialogue \"" + ex.id +
                                 "\" adds no token to the rendered conversation");
    }
    d.turn_ends.push_back(n);
    out.push_back(std::move(d));
  }
  return out;
}

Result<RecallScore> run_recall(const std::vector<PreparedDialogue>& dialogues,
                               const ModelBundle& model, const EvalOptions& opt,
                               const EvalConfig& config, ProgressBar& progress) {
  GenerateOptions gopt = generation_options(opt, config);
  // ChatML replies end with <|im_end|>, whether or not the model lists it as EOS.
  if (auto im_end = model.tokenizer->token_to_id("<|im_end|>")) {
    if (*im_end < model.weights->config.vocab_size) gopt.sampling.stop_token_ids.push_back(*im_end);
  }
  TS_RETURN_IF_ERROR(validate(gopt.sampling, model.weights->config.vocab_size));
  size_t longest = 0;
  for (const PreparedDialogue& d : dialogues) longest = std::max(longest, d.tokens.size());
  auto ctx =
      make_generation_context(model, gopt, static_cast<int64_t>(longest) + opt.max_answer_tokens);
  if (!ctx.ok()) return ctx.status();
  SequenceRunnerOptions ro;
  ro.kv = config.kv;
  ro.prefill_chunk = opt.prefill_chunk;

  RecallScore score;
  double sum_of_means = 0;
  for (size_t i = 0; i < dialogues.size(); ++i) {
    const PreparedDialogue& d = dialogues[i];
    const std::string who = "dialogue \"" + d.example->id + "\"";
    auto runner = SequenceRunner::create(*ctx->engine, *ctx->pool, static_cast<SeqId>(i + 1), ro);
    if (!runner.ok()) return runner.status().with_context(who);
    RecallOutcome o;
    o.id = d.example->id;
    o.line = d.example->line;
    o.answer = d.example->answer;
    o.prompt_tokens = static_cast<int64_t>(d.tokens.size());
    std::vector<float> logits;
    int64_t fed = 0;
    for (int64_t end : d.turn_ends) {
      if (end > fed) {
        auto l = runner->prefill(std::span<const int32_t>(d.tokens).subspan(fed, end - fed));
        if (!l.ok()) return l.status().with_context(who);
        logits = std::move(*l);
        fed = end;
      }
      o.retained_per_turn.push_back(runner->kv_stats().retained);
    }
    Generation g;
    g.prompt = d.tokens;
    Status s = continue_generation(*runner, model, gopt, std::move(logits), g, /*stream=*/false);
    if (!s.ok()) return s.with_context(who);
    o.predicted = g.text;
    o.correct = answers_match(g.text, o.answer);
    o.finish_reason = finish_reason_name(g.finish);

    double sum = 0;
    for (size_t k = 0; k < o.retained_per_turn.size(); ++k) {
      if (score.retained_by_turn.size() <= k) {
        score.retained_by_turn.push_back(0);
        score.dialogues_by_turn.push_back(0);
      }
      score.retained_by_turn[k] += static_cast<double>(o.retained_per_turn[k]);
      score.dialogues_by_turn[k] += 1;
      sum += static_cast<double>(o.retained_per_turn[k]);
    }
    sum_of_means += sum / static_cast<double>(o.retained_per_turn.size());
    score.correct += o.correct ? 1 : 0;
    score.total += 1;
    score.outcomes.push_back(std::move(o));
    progress.advance(1);
  }
  for (size_t k = 0; k < score.retained_by_turn.size(); ++k) {
    score.retained_by_turn[k] /= static_cast<double>(score.dialogues_by_turn[k]);
  }
  score.mean_retained_per_turn =
      score.total > 0 ? sum_of_means / static_cast<double>(score.total) : 0;
  return score;
}

}  // namespace trimserve::cli
