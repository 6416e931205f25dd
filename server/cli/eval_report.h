// The outputs of `trimserve eval`: results.json (everything measured, per-example outcomes for
// recall), results.md (a caption line and one table row per configuration) and results.svg
// (quality vs budget; server/cli/eval_plot.h).
//
// results.json:
//   {"task", "model", "data", "date", "prefill_chunk", "max_answer_tokens" | "window_tokens",
//    "examples", "lanes", "budgets": [...], "metric": "accuracy" | "perplexity",
//    "results": [{"policy", "budget" (null for full), "label",
//                 "kv": {"policy", "budget", "buffer", "window_sinks", "floor_ratio"},
//                 "examples", "wall_s", "quality",
//      recall:     "accuracy", "correct", "total", "mean_retained_per_turn",
//                  "mean_retained_per_turn_per_lane",
//                  "retained_by_turn": [{"turn", "mean", "dialogues"}],
//                  "outcomes": [{"id", "line", "predicted", "answer", "correct",
//                                "finish_reason", "prompt_tokens", "retained_per_turn"}]
//      perplexity: "perplexity", "mean_nll", "scored_tokens", "windows", "chunks",
//                  "mean_retained_per_chunk", "mean_retained_per_chunk_per_lane"}]}
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "server/cli/eval_result.h"

namespace trimserve::cli {

nlohmann::ordered_json eval_json(const EvalRun& run);
std::string eval_markdown(const EvalRun& run);

// Creates `dir` and writes results.json, results.md and results.svg there. Errors: kNotFound
// naming the path that could not be created or written.
Status write_eval_report(const EvalRun& run, const std::string& dir);

}  // namespace trimserve::cli
