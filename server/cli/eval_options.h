// Flags of `trimserve eval` and the (policy, budget) configurations they expand to.
//
//   trimserve eval --model DIR --task recall|perplexity --data FILE.jsonl
//     [--policies full,window,trimkv,trimkv-global] [--budgets 64,128,256,512] [--out DIR]
//     [--prefill-chunk N (32)] [--max-examples N] [--max-answer-tokens N (16)]
//     [--max-tokens-per-doc N] [--kv-buffer N] [--window-sinks N] [--floor-ratio F]
//     [--enable-thinking true|false] [--threads N] [--json]
//
// `full` keeps every entry, so it is one configuration whatever the budgets; every other policy
// runs once per budget (kv_budget = the budget; buffer, window sinks and floor ratio default to
// the model's, resolved by scheduler/kv_settings.h exactly as `generate` resolves them).
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/model_config.h"
#include "kvpool/types.h"
#include "server/cli/generate_options.h"

namespace trimserve::cli {

enum class EvalTask { kRecall, kPerplexity };
const char* eval_task_name(EvalTask task);  // "recall" | "perplexity"

struct EvalOptions {
  bool help = false;
  std::string model_dir;
  EvalTask task = EvalTask::kRecall;
  std::string data_path;
  std::vector<KvPolicy> policies;  // empty: the default for the model (resolve_eval_configs)
  std::vector<int64_t> budgets = {64, 128, 256, 512};  // ascending, unique
  std::optional<std::string> out_dir;
  int64_t prefill_chunk = 32;
  std::optional<int64_t> max_examples;
  int64_t max_answer_tokens = 16;             // recall
  std::optional<int64_t> max_tokens_per_doc;  // perplexity: window length (default: context)
  std::optional<int64_t> kv_buffer;
  std::optional<int64_t> window_sinks;
  std::optional<double> floor_ratio;
  std::optional<bool> enable_thinking;  // recall: passed to the chat template when set
  int threads = 0;
  bool json = false;
};

// Usage errors (kInvalidArgument) name the flag: a missing --model/--task/--data, an unknown
// task, an empty or unknown entry of --policies (the valid ones listed), an empty --budgets,
// a budget that is not an integer or is < 1, a task-specific flag given to the other task.
Result<EvalOptions> parse_eval_options(int argc, char** argv);
void print_eval_help(std::FILE* out);

// One evaluated configuration.
struct EvalConfig {
  KvPolicy policy = KvPolicy::kFull;
  std::optional<int64_t> budget;  // the --budgets entry; none for full
  SequenceKvConfig kv;            // resolved against the model
  std::string label() const;      // "full", "trimkv M=64"
};

// The configurations in order: each policy of --policies (default: all four when the model has
// retention gates, else full and window), full once, the others once per budget. Errors
// (kInvalidArgument): a gate policy on a model without retention gates, a budget not above
// the window sinks, bad --kv-buffer / --window-sinks / --floor-ratio.
Result<std::vector<EvalConfig>> resolve_eval_configs(const EvalOptions& opt,
                                                     const ModelConfig& model);

// The `generate` options one configuration runs with (engine sizing, SequenceRunner, greedy
// decoding): its KV settings, --prefill-chunk, --threads, --enable-thinking, temperature 0 and
// at most --max-answer-tokens tokens.
GenerateOptions generation_options(const EvalOptions& opt, const EvalConfig& config);

}  // namespace trimserve::cli
