#include "server/cli/eval_options.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "scheduler/kv_settings.h"
#include "server/cli/cli_args.h"
#include "server/cli/default_model.h"

namespace trimserve::cli {

namespace {

constexpr const char* kValidPolicies = "full, window, trimkv, trimkv-global";
// What errors of the shared KV rules call each setting here.
constexpr KvSettingNames kEvalKvNames{"--policies", "--budgets", "--kv-buffer", "--window-sinks",
                                      "--floor-ratio"};

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    out.push_back(b == std::string::npos ? "" : item.substr(b, e - b + 1));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

Result<std::vector<KvPolicy>> parse_policies(const std::string& text) {
  if (text.find_first_not_of(" \t,") == std::string::npos) {
    return invalid_argument("--policies is empty (give a comma-separated list of " +
                            std::string(kValidPolicies) + ")");
  }
  std::vector<KvPolicy> out;
  for (const std::string& item : split_commas(text)) {
    if (item.empty()) return invalid_argument("--policies: empty entry in '" + text + "'");
    auto p = parse_kv_policy(item);
    if (!p.ok()) {
      return invalid_argument("--policies: unknown policy '" + item +
                              "' (valid: " + kValidPolicies + ")");
    }
    if (std::find(out.begin(), out.end(), *p) == out.end()) out.push_back(*p);
  }
  return out;
}

Result<std::vector<int64_t>> parse_budgets(const CliArgs& a) {
  const std::string text = *a.get("budgets");
  if (text.find_first_not_of(" \t,") == std::string::npos) {
    return invalid_argument(
        "--budgets is empty (give a comma-separated list of entries per lane, "
        "e.g. 64,128,256,512)");
  }
  std::vector<int64_t> out;
  for (const std::string& item : split_commas(text)) {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || errno == ERANGE) {
      return invalid_argument("--budgets: expected an integer, got '" + item + "'");
    }
    if (v < 1) return invalid_argument("--budgets: a budget must be >= 1, got " + item);
    out.push_back(v);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// --name N with N >= min (when present).
Status read_count(const CliArgs& a, const char* name, int64_t min, std::optional<int64_t>& dst) {
  auto v = a.get_int(name);
  if (!v.ok()) return v.status();
  if (*v && **v < min) {
    return invalid_argument("--" + std::string(name) + " must be >= " + std::to_string(min) +
                            ", got " + std::to_string(**v));
  }
  if (*v) dst = **v;
  return Status();
}

}  // namespace

const char* eval_task_name(EvalTask task) {
  return task == EvalTask::kRecall ? "recall" : "perplexity";
}

std::string EvalConfig::label() const {
  std::string s = kv_policy_name(policy);
  if (budget) s += " M=" + std::to_string(*budget);
  return s;
}

void print_eval_help(std::FILE* out) {
  std::fprintf(
      out,
      "usage: trimserve eval [--model DIR] --task recall|perplexity --data FILE.jsonl [options]\n\n"
      "Evaluates KV policies and budgets on a held-out dataset with the CPU engine and exactly\n"
      "the generation protocol of `generate` (chunked prefill, the policy compressing the cache\n"
      "after every step). `full` runs once; every other policy once per budget.\n\n"
      "tasks (JSON Lines, one object per line):\n"
      "  recall       {\"id\", \"turns\": [{\"user\", \"assistant\"}...], \"question\", \"answer\"}: the\n"
      "               turns (assistant text teacher-forced) and the question are rendered with the\n"
      "               chat template and fed turn by turn through one sequence; the greedy reply\n"
      "               is correct when it equals the answer (trimmed, trailing .!? dropped, any\n"
      "               case). Reports accuracy and the KV entries retained after each turn.\n"
      "  perplexity   {\"id\", \"text\"}: the text (no template) in windows of the model's context,\n"
      "               each window one sequence; every token after the first of a window is scored\n"
      "               from the logits of all positions. Reports exp(mean NLL) and the KV entries\n"
      "               retained after each chunk.\n\n"
      "  --model DIR               Hugging Face model directory (default: the embedded trimchat-6m)\n"
      "  --task T                  recall | perplexity\n"
      "  --data FILE               the dataset (.jsonl)\n"
      "  --policies LIST           comma-separated: full, window, trimkv, trimkv-global (default: all\n"
      "                            four when the model has retention gates, else full,window)\n"
      "  --budgets LIST            KV budgets M, entries per lane (default 64,128,256,512)\n"
      "  --out DIR                 write results.json, results.md and results.svg (quality vs\n"
      "                            budget) there; without it only the table is printed\n"
      "  --prefill-chunk N (32)    tokens per prefill step; the cache is compressed after each\n"
      "  --max-examples N          evaluate the first N examples only\n"
      "  --max-answer-tokens N (16)  recall: greedy tokens generated for the answer at most\n"
      "  --enable-thinking B       recall: pass enable_thinking=true|false to the chat template\n"
      "  --max-tokens-per-doc N    perplexity: window length (default: max_position_embeddings)\n"
      "  --kv-buffer N  --window-sinks N (4)  --floor-ratio F   as for generate (defaults: the\n"
      "                            model's buffer_size and floor_budget_ratio)\n"
      "  --threads N (0 = all cores)\n"
      "  --json                    print results.json instead of the table\n\n"
      "A progress bar (done/total examples x configurations, rate, ETA) is drawn on stderr when\n"
      "it is a terminal. Exit: 0 ok, 2 bad usage or input (the file and line named), 1 runtime.\n");
}

Result<EvalOptions> parse_eval_options(int argc, char** argv) {
  CliArgs a({"model", "task", "data", "policies", "budgets", "out", "prefill-chunk", "max-examples",
             "max-answer-tokens", "max-tokens-per-doc", "kv-buffer", "window-sinks", "floor-ratio",
             "enable-thinking", "threads"},
            {"json", "help"});
  TS_RETURN_IF_ERROR(a.parse(argc, argv));
  EvalOptions o;
  if (a.has("help")) {
    o.help = true;
    return o;
  }
  for (const char* required : {"task", "data"}) {
    if (!a.has(required)) {
      return invalid_argument(std::string("--") + required +
                              " is required (see 'trimserve eval --help')");
    }
  }
  auto model_dir = model_dir_or_default(a.get_or("model", ""));
  if (!model_dir.ok()) return model_dir.status();
  o.model_dir = *model_dir;
  const std::string task = *a.get("task");
  if (task == "recall") {
    o.task = EvalTask::kRecall;
  } else if (task == "perplexity") {
    o.task = EvalTask::kPerplexity;
  } else {
    return invalid_argument("--task: unknown task '" + task + "' (valid: recall, perplexity)");
  }
  o.data_path = *a.get("data");
  if (o.data_path.empty()) return invalid_argument("--data must not be empty");
  if (auto p = a.get("policies")) {
    auto policies = parse_policies(*p);
    if (!policies.ok()) return policies.status();
    o.policies = *policies;
  }
  if (a.has("budgets")) {
    auto budgets = parse_budgets(a);
    if (!budgets.ok()) return budgets.status();
    o.budgets = *budgets;
  }
  o.out_dir = a.get("out");
  if (o.out_dir && o.out_dir->empty()) return invalid_argument("--out must not be empty");

  std::optional<int64_t> chunk, answer_tokens, threads;
  TS_RETURN_IF_ERROR(read_count(a, "prefill-chunk", 1, chunk));
  TS_RETURN_IF_ERROR(read_count(a, "max-examples", 1, o.max_examples));
  TS_RETURN_IF_ERROR(read_count(a, "max-answer-tokens", 1, answer_tokens));
  TS_RETURN_IF_ERROR(read_count(a, "max-tokens-per-doc", 2, o.max_tokens_per_doc));
  TS_RETURN_IF_ERROR(read_count(a, "threads", 0, threads));
  o.prefill_chunk = chunk.value_or(o.prefill_chunk);
  o.max_answer_tokens = answer_tokens.value_or(o.max_answer_tokens);
  o.threads = static_cast<int>(threads.value_or(0));
  if (o.task == EvalTask::kPerplexity && (a.has("max-answer-tokens") || a.has("enable-thinking"))) {
    return invalid_argument("--max-answer-tokens and --enable-thinking are for --task recall");
  }
  if (o.task == EvalTask::kRecall && a.has("max-tokens-per-doc")) {
    return invalid_argument("--max-tokens-per-doc is for --task perplexity");
  }
  if (auto t = a.get("enable-thinking")) {
    if (*t != "true" && *t != "false") {
      return invalid_argument("--enable-thinking: expected true or false, got '" + *t + "'");
    }
    o.enable_thinking = *t == "true";
  }
  auto buffer = a.get_int("kv-buffer");
  if (!buffer.ok()) return buffer.status();
  o.kv_buffer = *buffer;
  auto sinks = a.get_int("window-sinks");
  if (!sinks.ok()) return sinks.status();
  o.window_sinks = *sinks;
  auto floor = a.get_double("floor-ratio");
  if (!floor.ok()) return floor.status();
  o.floor_ratio = *floor;
  o.json = a.has("json");
  return o;
}

Result<std::vector<EvalConfig>> resolve_eval_configs(const EvalOptions& opt,
                                                     const ModelConfig& model) {
  std::vector<KvPolicy> policies = opt.policies;
  if (policies.empty()) {
    policies = {KvPolicy::kFull, KvPolicy::kWindow};
    if (model.has_retention_gates()) {
      policies.push_back(KvPolicy::kTrimKv);
      policies.push_back(KvPolicy::kTrimKvGlobal);
    }
  }
  std::vector<EvalConfig> out;
  for (KvPolicy policy : policies) {
    KvSettings s{policy, std::nullopt, opt.kv_buffer, opt.window_sinks, opt.floor_ratio};
    if (policy == KvPolicy::kFull) {
      auto kv = resolve_kv_settings(s, model, kEvalKvNames);
      if (!kv.ok()) return kv.status();
      out.push_back({policy, std::nullopt, *kv});
      continue;
    }
    for (int64_t budget : opt.budgets) {
      s.budget = budget;
      auto kv = resolve_kv_settings(s, model, kEvalKvNames);
      if (!kv.ok()) return kv.status();
      out.push_back({policy, budget, *kv});
    }
  }
  return out;
}

GenerateOptions generation_options(const EvalOptions& opt, const EvalConfig& config) {
  GenerateOptions g;
  g.model_dir = opt.model_dir;
  g.kv = config.kv;
  g.prefill_chunk = opt.prefill_chunk;
  g.threads = opt.threads;
  g.enable_thinking = opt.enable_thinking;
  g.sampling.temperature = 0.0;
  g.sampling.max_tokens = opt.max_answer_tokens;
  g.json = true;
  return g;
}

}  // namespace trimserve::cli
