#include "server/cli/eval_report.h"

#include <cstdio>
#include <filesystem>

#include "server/cli/eval_plot.h"
#include "server/cli/result_files.h"

namespace trimserve::cli {

namespace {

using nlohmann::ordered_json;

ordered_json config_json(const ConfigResult& r, int64_t lanes) {
  const EvalConfig& c = r.config;
  ordered_json kv = {
      {"policy", kv_policy_name(c.kv.policy)},
      {"budget", c.policy == KvPolicy::kFull ? ordered_json() : ordered_json(c.kv.budget)},
      {"buffer", c.kv.buffer},
      {"window_sinks", c.kv.window_sinks},
      {"floor_ratio", c.kv.floor_ratio}};
  ordered_json j = {{"policy", kv_policy_name(c.policy)},
                    {"budget", c.budget ? ordered_json(*c.budget) : ordered_json()},
                    {"label", c.label()},
                    {"kv", kv},
                    {"examples", r.examples},
                    {"wall_s", r.wall_s},
                    {"quality", r.quality()}};
  const double per_lane = lanes > 0 ? r.mean_retained() / static_cast<double>(lanes) : 0.0;
  if (r.recall) {
    const RecallScore& s = *r.recall;
    j["accuracy"] = s.accuracy();
    j["correct"] = s.correct;
    j["total"] = s.total;
    j["mean_retained_per_turn"] = s.mean_retained_per_turn;
    j["mean_retained_per_turn_per_lane"] = per_lane;
    ordered_json by_turn = ordered_json::array();
    for (size_t k = 0; k < s.retained_by_turn.size(); ++k) {
      by_turn.push_back(
          {{"turn", k}, {"mean", s.retained_by_turn[k]}, {"dialogues", s.dialogues_by_turn[k]}});
    }
    j["retained_by_turn"] = by_turn;
    ordered_json outcomes = ordered_json::array();
    for (const RecallOutcome& o : s.outcomes) {
      outcomes.push_back({{"id", o.id},
                          {"line", o.line},
                          {"predicted", o.predicted},
                          {"answer", o.answer},
                          {"correct", o.correct},
                          {"finish_reason", o.finish_reason},
                          {"prompt_tokens", o.prompt_tokens},
                          {"retained_per_turn", o.retained_per_turn}});
    }
    j["outcomes"] = outcomes;
  } else {
    const PerplexityScore& s = *r.perplexity;
    j["perplexity"] = s.perplexity();
    j["mean_nll"] = s.mean_nll();
    j["scored_tokens"] = s.scored_tokens;
    j["windows"] = s.windows;
    j["chunks"] = s.chunks;
    j["mean_retained_per_chunk"] = s.mean_retained_per_chunk();
    j["mean_retained_per_chunk_per_lane"] = per_lane;
  }
  return j;
}

std::string format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}


}  // namespace

ordered_json eval_json(const EvalRun& run) {
  const bool recall = run.task == EvalTask::kRecall;
  ordered_json j = {{"task", eval_task_name(run.task)},
                    {"model", run.model_dir},
                    {"data", run.data_path},
                    {"date", run.date},
                    {"prefill_chunk", run.prefill_chunk}};
  if (recall) {
    j["max_answer_tokens"] = run.max_answer_tokens;
  } else {
    j["window_tokens"] = run.window_tokens;
  }
  j["examples"] = run.examples;
  j["lanes"] = run.num_lanes;
  j["budgets"] = run.budgets;
  j["metric"] = recall ? "accuracy" : "perplexity";
  ordered_json results = ordered_json::array();
  for (const ConfigResult& r : run.results) results.push_back(config_json(r, run.num_lanes));
  j["results"] = results;
  return j;
}

std::string eval_markdown(const EvalRun& run) {
  const bool recall = run.task == EvalTask::kRecall;
  std::string md = std::string(recall ? "Recall accuracy" : "Perplexity") + " of `" +
                   run.model_dir + "` on `" + run.data_path + "` (" + std::to_string(run.examples) +
                   (recall ? " dialogues" : " texts") + ", prefill chunk " +
                   std::to_string(run.prefill_chunk) + "; KV retained = entries over all " +
                   std::to_string(run.num_lanes) + " lanes, mean " +
                   (recall ? "after each turn" : "after each chunk") + ", and per lane)\n\n";
  md +=
      recall
          ? "| policy | budget | accuracy | correct / total | KV retained / turn | per lane | wall (s) |\n"
          : "| policy | budget | perplexity | scored tokens | KV retained / chunk | per lane | wall (s) |\n";
  md += "|---|---|---|---|---|---|---|\n";
  for (const ConfigResult& r : run.results) {
    const std::string budget = r.config.budget ? std::to_string(*r.config.budget) : "all";
    const std::string quality = format(recall ? "%.3f" : "%.4f", r.quality());
    const std::string count =
        recall ? std::to_string(r.recall->correct) + " / " + std::to_string(r.recall->total)
               : std::to_string(r.perplexity->scored_tokens);
    const double lanes = static_cast<double>(std::max<int64_t>(run.num_lanes, 1));
    md += "| " + std::string(kv_policy_name(r.config.policy)) + " | " + budget + " | " + quality +
          " | " + count + " | " + format("%.1f", r.mean_retained()) + " | " +
          format("%.1f", r.mean_retained() / lanes) + " | " + format("%.2f", r.wall_s) + " |\n";
  }
  return md;
}

Status write_eval_report(const EvalRun& run, const std::string& dir) {
  const std::filesystem::path d(dir);
  TS_RETURN_IF_ERROR(make_output_dir(d).with_context("--out"));
  TS_RETURN_IF_ERROR(write_text_file(
      d / "results.json",
      eval_json(run).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"));
  TS_RETURN_IF_ERROR(write_text_file(d / "results.md", eval_markdown(run)));
  TS_RETURN_IF_ERROR(write_text_file(d / "results.svg", eval_svg(run)));
  return Status();
}

}  // namespace trimserve::cli
