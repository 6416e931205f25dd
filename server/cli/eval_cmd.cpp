// `trimserve eval`: KV policies and budgets against a held-out dataset (issue 6), with the real
// CPU engine, the real kvpool policies and exactly the engine's generation protocol
// (SequenceRunner: chunked prefill, the policy compressing after every step).
//
// Flow: flags (server/cli/eval_options.h) -> the dataset, parsed and validated before the
// model loads (server/cli/eval_dataset.h) -> the model and the configurations -> every example
// rendered/tokenized once -> each configuration on a fresh engine (server/cli/recall_eval.h,
// perplexity_eval.h), a progress bar on stderr -> the table on stdout (or results.json with
// --json) and, with --out, results.json/.md/.svg (server/cli/eval_report.h).
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "server/cli/commands.h"
#include "server/cli/eval_dataset.h"
#include "server/cli/eval_options.h"
#include "server/cli/eval_report.h"
#include "server/cli/exit_codes.h"
#include "server/cli/model_bundle.h"
#include "server/cli/perplexity_eval.h"
#include "server/cli/progress_bar.h"
#include "server/cli/recall_eval.h"
#include "server/cli/result_files.h"

namespace trimserve::cli {

namespace {

template <class T>
void keep_first(std::vector<T>& v, const std::optional<int64_t>& n) {
  if (n && static_cast<int64_t>(v.size()) > *n) v.resize(static_cast<size_t>(*n));
}

// Runs every configuration; `run_one(config, bar)` evaluates all examples under one of them.
template <class Score, class RunOne>
Status run_configs(EvalRun& run, const std::vector<EvalConfig>& configs, RunOne run_one) {
  ProgressBar bar("eval", run.examples * static_cast<int64_t>(configs.size()));
  for (const EvalConfig& config : configs) {
    bar.set_note(config.label());
    const auto t0 = std::chrono::steady_clock::now();
    Result<Score> score = run_one(config, bar);
    if (!score.ok()) return score.status().with_context(config.label());
    ConfigResult r;
    r.config = config;
    r.examples = run.examples;
    r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if constexpr (std::is_same_v<Score, RecallScore>) {
      r.recall = std::move(*score);
    } else {
      r.perplexity = std::move(*score);
    }
    run.results.push_back(std::move(r));
  }
  bar.finish();
  return Status();
}

}  // namespace

int eval_main(int argc, char** argv) {
  auto opt = parse_eval_options(argc, argv);
  if (!opt.ok()) return report("eval", opt.status());
  if (opt->help) {
    print_eval_help(stdout);
    return kExitOk;
  }
  const bool recall = opt->task == EvalTask::kRecall;
  std::vector<RecallExample> dialogues;
  std::vector<TextExample> texts;
  if (recall) {
    auto d = load_recall_dataset(opt->data_path);
    if (!d.ok()) return report("eval", d.status());
    dialogues = std::move(*d);
    keep_first(dialogues, opt->max_examples);
  } else {
    auto t = load_text_dataset(opt->data_path);
    if (!t.ok()) return report("eval", t.status());
    texts = std::move(*t);
    keep_first(texts, opt->max_examples);
  }

  auto model = load_model_bundle(opt->model_dir, /*load_weights=*/true);
  if (!model.ok()) return report("eval", model.status());
  const ModelConfig& mc = model->weights->config;
  auto configs = resolve_eval_configs(*opt, mc);
  if (!configs.ok()) return report("eval", configs.status());

  EvalRun run;
  run.model_dir = opt->model_dir;
  run.data_path = opt->data_path;
  run.task = opt->task;
  run.prefill_chunk = opt->prefill_chunk;
  run.max_answer_tokens = opt->max_answer_tokens;
  run.num_lanes = mc.num_hidden_layers * mc.num_key_value_heads;
  run.budgets = opt->budgets;
  run.date = utc_timestamp();
  Status status;
  if (recall) {
    auto prepared = prepare_recall(dialogues, *model, *opt);
    if (!prepared.ok()) return report("eval", prepared.status());
    run.examples = static_cast<int64_t>(prepared->size());
    status = run_configs<RecallScore>(run, *configs, [&](const EvalConfig& c, ProgressBar& bar) {
      return run_recall(*prepared, *model, *opt, c, bar);
    });
  } else {
    auto prepared = prepare_texts(texts, *model, *opt);
    if (!prepared.ok()) return report("eval", prepared.status());
    run.examples = static_cast<int64_t>(prepared->tokens.size());
    run.window_tokens = prepared->window;
    status =
        run_configs<PerplexityScore>(run, *configs, [&](const EvalConfig& c, ProgressBar& bar) {
          return run_perplexity(*prepared, *model, *opt, c, bar);
        });
  }
  if (!status.ok()) return report("eval", status);

  if (opt->out_dir) {
    if (Status s = write_eval_report(run, *opt->out_dir); !s.ok()) return report("eval", s);
    std::fprintf(stderr, "eval: wrote results.json, results.md and results.svg to %s\n",
                 opt->out_dir->c_str());
  }
  if (opt->json) {
    std::printf(
        "%s\n",
        eval_json(run).dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("%s", eval_markdown(run).c_str());
  }
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace trimserve::cli
