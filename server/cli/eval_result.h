// What `trimserve eval` measured: per configuration (policy, budget) the task's score, the KV
// entries retained and the wall time, plus the run's metadata. Plain data, filled by
// recall_eval / perplexity_eval and written out by eval_report.
//
// "Retained" counts KV entries summed over all L*Hkv lanes (SequenceKvStats::retained), read
// after a recall turn was fed / after a perplexity chunk was fed and compressed.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/cli/eval_options.h"

namespace trimserve::cli {

struct RecallOutcome {
  std::string id;
  int64_t line = 0;
  std::string predicted;  // the greedy reply as the user would see it
  std::string answer;
  bool correct = false;
  std::string finish_reason;
  int64_t prompt_tokens = 0;               // the whole rendered dialogue with the question
  std::vector<int64_t> retained_per_turn;  // after each turn; the last is the question
};

struct RecallScore {
  int64_t correct = 0;
  int64_t total = 0;
  std::vector<RecallOutcome> outcomes;  // in dataset order
  // Mean over dialogues of each dialogue's mean over its turns.
  double mean_retained_per_turn = 0;
  // By turn index (0-based; a dialogue's last turn is its question): the mean over the
  // dialogues that have that turn, and how many do.
  std::vector<double> retained_by_turn;
  std::vector<int64_t> dialogues_by_turn;

  double accuracy() const { return total > 0 ? static_cast<double>(correct) / total : 0.0; }
};

struct PerplexityScore {
  double nll_sum = 0;         // natural log, over every scored token
  int64_t scored_tokens = 0;  // every token of a window but its first
  int64_t windows = 0;
  int64_t chunks = 0;       // engine steps
  double retained_sum = 0;  // over chunks

  double mean_nll() const { return scored_tokens > 0 ? nll_sum / scored_tokens : 0.0; }
  double perplexity() const { return std::exp(mean_nll()); }
  double mean_retained_per_chunk() const { return chunks > 0 ? retained_sum / chunks : 0.0; }
};

struct ConfigResult {
  EvalConfig config;
  int64_t examples = 0;
  double wall_s = 0;
  std::optional<RecallScore> recall;          // --task recall
  std::optional<PerplexityScore> perplexity;  // --task perplexity

  // Accuracy in [0, 1] or perplexity.
  double quality() const { return recall ? recall->accuracy() : perplexity->perplexity(); }
  // Mean retained entries per turn (recall) or per chunk (perplexity), all lanes.
  double mean_retained() const {
    return recall ? recall->mean_retained_per_turn : perplexity->mean_retained_per_chunk();
  }
};

struct EvalRun {
  std::string model_dir;
  std::string data_path;
  EvalTask task = EvalTask::kRecall;
  int64_t prefill_chunk = 0;
  int64_t max_answer_tokens = 0;  // recall
  int64_t window_tokens = 0;      // perplexity
  int64_t num_lanes = 0;          // L * Hkv of the model
  int64_t examples = 0;
  std::vector<int64_t> budgets;  // the --budgets list (the plot's x axis)
  std::string date;              // UTC, ISO 8601
  std::vector<ConfigResult> results;
};

}  // namespace trimserve::cli
