#include "server/cli/generate_options.h"

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "server/cli/default_model.h"
#include "server/cli/kv_flags.h"

namespace trimserve::cli {

namespace {

std::vector<std::string> value_flags() {
  std::vector<std::string> v = {"model",          "prompt",           "prompt-ids",
                                "messages",       "max-tokens",       "temperature",
                                "top-p",          "top-k",            "min-p",
                                "seed",           "presence-penalty", "frequency-penalty",
                                "repetition-penalty", "stop",         "stop-token-ids",
                                "prefill-chunk",  "page-size",        "threads",
                                "logits-out",     "dump-kv",          "enable-thinking",
                                "session-id",     "session-dir"};
  for (const char* f : kKvValueFlags) v.push_back(f);
  return v;
}

}  // namespace

void print_generate_help(std::FILE* out) {
  std::fprintf(out,
      "usage: trimserve generate [--model DIR] (--prompt TEXT | --prompt-ids 1,2,3 | --messages FILE.json)\n"
      "                          [options]\n\n"
      "Generates text with the CPU engine; the KV cache is managed by the chosen policy.\n\n"
      "input:\n"
      "  --model DIR              Hugging Face model directory (config.json, *.safetensors, tokenizer.json);\n"
      "                           default: the embedded trimchat-6m\n"
      "  --prompt TEXT            raw prompt text (special tokens in it are recognised)\n"
      "  --prompt-ids LIST        comma-separated token ids\n"
      "  --messages FILE          JSON chat: [{\"role\",\"content\"}...] or {\"messages\": [...]}, rendered\n"
      "                           with the model's chat template (generation prompt added)\n"
      "  --session-id ID          multi-turn mode: each stdin line is one user turn (a JSON string, or\n"
      "                           a message object); the conversation is re-rendered with the chat\n"
      "                           template every turn and the session's compressed KV cache is reused\n"
      "                           for the common prefix; prints one JSON object per turn. A line\n"
      "                           {\"role\": \"assistant\", ...} is added to the conversation as is\n"
      "                           (replaying a recorded conversation), without generating\n"
      "  --session-dir DIR        with --session-id: save the session's compressed cache to DIR after\n"
      "                           every turn and resume from it in a later run (a corrupt or foreign\n"
      "                           file is reported on stderr, removed, and the turn recomputed)\n"
      "  --enable-thinking B      pass enable_thinking=true|false to the chat template (default:\n"
      "                           unset, the template's own default)\n"
      "sampling:\n"
      "  --max-tokens N (16)  --temperature F (1.0; 0 = greedy)  --top-p F (1.0)  --top-k N (0 = off)\n"
      "  --min-p F (0)  --seed N  --presence-penalty F  --frequency-penalty F  --repetition-penalty F\n"
      "  --stop TEXT  --stop-token-ids LIST  --ignore-eos\n"
      "KV cache:\n"
      "  --kv-policy P            full | window | trimkv | trimkv-global (default: trimkv-global when\n"
      "                           the model has retention gates, else full)\n"
      "  --kv-budget M            entries per lane (trimkv-global keeps M*layers*kv_heads in total);\n"
      "                           default: the model's memory_size\n"
      "  --kv-buffer N            compress once M+N entries accumulate (default: model's buffer_size)\n"
      "  --window-sinks N (4)     window policy: leading entries always kept\n"
      "  --floor-ratio F          trimkv-global per-lane floor (default: model's floor_budget_ratio)\n"
      "  --prefill-chunk N (512)  prompt tokens per step; the cache is compressed between chunks\n"
      "  --page-size N (16)       KV entries per page\n"
      "  --threads N (0 = all cores)\n"
      "output:\n"
      "  --json                   print one JSON object: text, token_ids, prompt_tokens, finish_reason,\n"
      "                           kv {retained, offered}\n"
      "  --logits-out FILE.npy    float32 [N, V]: row i = logits the i-th generated token was sampled from\n"
      "  --dump-kv FILE.json      final retained positions and logβ per lane\n");
}

Result<GenerateOptions> parse_generate_options(int argc, char** argv) {
  GenerateOptions o;
  o.args = CliArgs(value_flags(), {"json", "ignore-eos", "help"});
  TS_RETURN_IF_ERROR(o.args.parse(argc, argv));
  const CliArgs& a = o.args;
  if (a.has("help")) {
    o.help = true;
    return o;
  }
  auto model_dir = model_dir_or_default(a.get_or("model", ""));
  if (!model_dir.ok()) return model_dir.status();
  o.model_dir = *model_dir;
  const int num_inputs = a.has("prompt") + a.has("prompt-ids") + a.has("messages");
  o.session_id = a.get("session-id");
  if (o.session_id) {
    if (num_inputs != 0) {
      return invalid_argument("--session-id reads the turns from stdin; drop --prompt/--prompt-ids/--messages");
    }
    if (o.session_id->empty()) return invalid_argument("--session-id must not be empty");
    if (a.has("logits-out") || a.has("dump-kv")) {
      return invalid_argument("--logits-out and --dump-kv are for one-shot runs, not --session-id");
    }
  } else if (a.has("session-dir")) {
    return invalid_argument("--session-dir needs --session-id");
  } else if (num_inputs != 1) {
    return invalid_argument("give exactly one of --prompt, --prompt-ids, --messages (or --session-id)");
  }
  o.session_dir = a.get("session-dir");
  if (o.session_dir && o.session_dir->empty()) return invalid_argument("--session-dir must not be empty");
  o.prompt = a.get("prompt");
  o.messages_file = a.get("messages");
  auto ids = a.get_int_list("prompt-ids");
  if (!ids.ok()) return ids.status();
  o.prompt_ids = *ids;
  if (auto t = a.get("enable-thinking")) {
    if (*t != "true" && *t != "false") {
      return invalid_argument("--enable-thinking: expected true or false, got '" + *t + "'");
    }
    o.enable_thinking = *t == "true";
  }

  SamplingParams& s = o.sampling;
  TS_RETURN_IF_ERROR(a.read_int("max-tokens", s.max_tokens));
  TS_RETURN_IF_ERROR(a.read_double("temperature", s.temperature));
  TS_RETURN_IF_ERROR(a.read_double("top-p", s.top_p));
  int64_t top_k = s.top_k;
  TS_RETURN_IF_ERROR(a.read_int("top-k", top_k));
  s.top_k = static_cast<int32_t>(top_k);
  TS_RETURN_IF_ERROR(a.read_double("min-p", s.min_p));
  TS_RETURN_IF_ERROR(a.read_double("presence-penalty", s.presence_penalty));
  TS_RETURN_IF_ERROR(a.read_double("frequency-penalty", s.frequency_penalty));
  TS_RETURN_IF_ERROR(a.read_double("repetition-penalty", s.repetition_penalty));
  if (auto seed = a.get_int("seed"); !seed.ok()) {
    return seed.status();
  } else if (*seed) {
    if (**seed < 0) return invalid_argument("--seed must be >= 0");
    s.seed = static_cast<uint64_t>(**seed);
  }
  if (auto stop = a.get("stop")) s.stop.push_back(*stop);
  auto stop_ids = a.get_int_list("stop-token-ids");
  if (!stop_ids.ok()) return stop_ids.status();
  if (*stop_ids) {
    for (int64_t id : **stop_ids) s.stop_token_ids.push_back(static_cast<int32_t>(id));
  }
  s.ignore_eos = a.has("ignore-eos");

  TS_RETURN_IF_ERROR(a.read_int("prefill-chunk", o.prefill_chunk));
  if (o.prefill_chunk < 1) return invalid_argument("--prefill-chunk must be >= 1");
  TS_RETURN_IF_ERROR(a.read_int("page-size", o.page_size));
  if (o.page_size < 1) return invalid_argument("--page-size must be >= 1");
  int64_t threads = 0;
  TS_RETURN_IF_ERROR(a.read_int("threads", threads));
  if (threads < 0) return invalid_argument("--threads must be >= 0");
  o.threads = static_cast<int>(threads);
  o.logits_out = a.get("logits-out");
  o.want_logits = o.logits_out.has_value();
  o.dump_kv_path = a.get("dump-kv");
  o.json = a.has("json");
  return o;
}

Status resolve_generate_options(GenerateOptions& opt, const ModelBundle& model) {
  const ModelConfig& mc = model.weights->config;
  auto kv = resolve_kv_config(opt.args, mc);
  if (!kv.ok()) return kv.status();
  opt.kv = *kv;
  return validate(opt.sampling, mc.vocab_size);
}

Result<std::vector<int32_t>> build_prompt(const GenerateOptions& opt, const ModelBundle& model) {
  const ModelConfig& mc = model.weights->config;
  std::vector<int32_t> ids;
  if (opt.prompt_ids) {
    for (int64_t id : *opt.prompt_ids) {
      if (id < 0 || id >= mc.vocab_size) {
        return invalid_argument("--prompt-ids: token id " + std::to_string(id) + " outside [0, " +
                                std::to_string(mc.vocab_size) + ")");
      }
      ids.push_back(static_cast<int32_t>(id));
    }
  } else if (opt.prompt) {
    ids = model.tokenizer->encode(*opt.prompt);
  } else {
    std::ifstream f(*opt.messages_file);
    if (!f) return not_found("--messages: cannot read " + *opt.messages_file);
    // ordered_json: the template's tojson output (tool-call arguments) follows key order.
    auto doc = nlohmann::ordered_json::parse(f, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return invalid_argument("--messages: " + *opt.messages_file + " is not valid JSON");
    nlohmann::ordered_json messages = doc.is_object() && doc.contains("messages") ? doc["messages"] : doc;
    if (!messages.is_array()) {
      return invalid_argument("--messages: expected an array of messages or {\"messages\": [...]}");
    }
    auto encoded = encode_chat(opt, model, messages);
    if (!encoded.ok()) return encoded.status().with_context("--messages");
    ids = std::move(*encoded);
  }
  if (ids.empty()) return invalid_argument("the prompt is empty");
  TS_RETURN_IF_ERROR(check_context_length(opt, model, ids.size()));
  return ids;
}

Result<std::vector<int32_t>> encode_chat(const GenerateOptions& opt, const ModelBundle& model,
                                         const nlohmann::ordered_json& messages) {
  if (!model.chat_template) {
    return failed_precondition("the model has no chat template (tokenizer_config.json)");
  }
  ChatRenderOptions ro;
  ro.add_generation_prompt = true;
  ro.enable_thinking = opt.enable_thinking;
  auto text = model.chat_template->render(messages, ro);
  if (!text.ok()) return text.status();
  return model.tokenizer->encode(*text);
}

Status check_context_length(const GenerateOptions& opt, const ModelBundle& model, size_t prompt_tokens) {
  const int64_t limit = model.weights->config.max_position_embeddings;
  if (static_cast<int64_t>(prompt_tokens) + opt.sampling.max_tokens > limit) {
    return out_of_range("prompt (" + std::to_string(prompt_tokens) + " tokens) + --max-tokens (" +
                        std::to_string(opt.sampling.max_tokens) +
                        ") exceeds the model's context length of " + std::to_string(limit) +
                        " tokens");
  }
  return Status();
}

}  // namespace trimserve::cli
