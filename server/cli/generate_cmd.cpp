// `trimserve generate`: one prompt through the CPU engine with the TrimKV-managed KV cache.
// The flags and the --json / --logits-out outputs are a contract other tools call (issue 3).
#include <chrono>
#include <cstdio>
#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/cpu/cpu_engine.h"
#include "engine/sampler.h"
#include "engine/stop_matcher.h"
#include "engine/streaming_decoder.h"
#include "kvpool/kv_pool.h"
#include "scheduler/sequence_runner.h"
#include "server/cli/commands.h"
#include "server/cli/exit_codes.h"
#include "server/cli/generate_options.h"
#include "server/cli/kv_dump.h"
#include "server/cli/model_bundle.h"
#include "server/cli/npy_writer.h"

namespace trimserve::cli {

namespace {

struct Generation {
  std::vector<int32_t> prompt;
  std::vector<int32_t> output;
  std::string text;
  FinishReason finish = FinishReason::kLength;
  std::vector<float> logits_rows;  // [output.size(), V] when asked for
  SequenceKvStats kv;
  nlohmann::json kv_dump;
  double prefill_s = 0;  // wall time of the prompt's steps
  double decode_s = 0;   // wall time of the decode steps (sampling included)
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Result<Generation> run_generation(const ModelBundle& model, const GenerateOptions& opt,
                                  std::vector<int32_t> prompt, bool stream_to_stdout) {
  const ModelConfig& mc = model.weights->config;
  const int64_t num_lanes = mc.num_hidden_layers * mc.num_key_value_heads;
  const int64_t total = static_cast<int64_t>(prompt.size()) + opt.sampling.max_tokens;

  cpu::CpuEngineOptions eo;
  eo.num_threads = opt.threads;
  eo.page_size = opt.page_size;
  eo.num_pages = pages_for_one_sequence(opt.kv, total, opt.prefill_chunk, num_lanes, opt.page_size);
  auto engine = cpu::CpuEngine::create(model.weights, eo);
  if (!engine.ok()) return engine.status();
  KvPoolOptions po;
  po.num_pages = eo.num_pages;
  po.page_size = opt.page_size;
  po.num_layers = mc.num_hidden_layers;
  po.num_kv_heads = mc.num_key_value_heads;
  auto pool = KvPool::create(po);
  if (!pool.ok()) return pool.status();
  SequenceRunnerOptions ro;
  ro.kv = opt.kv;
  ro.prefill_chunk = opt.prefill_chunk;
  auto runner = SequenceRunner::create(**engine, **pool, /*seq=*/1, ro);
  if (!runner.ok()) return runner.status();

  Generation g;
  g.prompt = std::move(prompt);
  const auto t_prefill = std::chrono::steady_clock::now();
  auto logits = runner->prefill(g.prompt);
  if (!logits.ok()) return logits.status();
  g.prefill_s = seconds_since(t_prefill);
  const auto t_decode = std::chrono::steady_clock::now();

  Sampler sampler(opt.sampling);
  FinishChecker finish(opt.sampling, model.eos_token_ids);
  StopMatcher stops(opt.sampling.stop);
  StreamingDecoder decoder(*model.tokenizer);
  auto emit = [&](const std::string& s) {
    g.text += s;
    if (stream_to_stdout && !s.empty()) {
      std::fwrite(s.data(), 1, s.size(), stdout);
      std::fflush(stdout);
    }
  };
  for (;;) {
    if (opt.want_logits) g.logits_rows.insert(g.logits_rows.end(), logits->begin(), logits->end());
    const int32_t token = sampler.sample(*logits, g.prompt, g.output);
    g.output.push_back(token);
    const auto decision = finish.on_token(token, static_cast<int64_t>(g.output.size()));
    if (!decision.hide_token_text) {
      auto out = stops.feed(decoder.push(token));
      emit(out.text);
      if (out.stopped) {
        g.finish = FinishReason::kStop;
        break;
      }
    }
    if (decision.reason != FinishReason::kNone) {
      g.finish = decision.reason;
      emit(stops.feed(decoder.flush()).text);
      emit(stops.flush());
      break;
    }
    logits = runner->decode(token);
    if (!logits.ok()) return logits.status();
  }
  g.decode_s = seconds_since(t_decode);
  g.kv = runner->kv_stats();
  if (opt.dump_kv_path) g.kv_dump = dump_kv(**pool, runner->seq(), mc);
  return g;
}

// Decode steps are one fewer than generated tokens: the last token is sampled, never fed.
double decode_rate(const Generation& g) {
  return g.output.size() > 1 ? (g.output.size() - 1) / std::max(g.decode_s, 1e-9) : 0.0;
}

}  // namespace

int generate_main(int argc, char** argv) {
  auto opt = parse_generate_options(argc, argv);
  if (!opt.ok()) return report("generate", opt.status());
  if (opt->help) {
    print_generate_help(stdout);
    return kExitOk;
  }
  auto model = load_model_bundle(opt->model_dir, /*load_weights=*/true);
  if (!model.ok()) return report("generate", model.status());
  Status resolved = resolve_generate_options(*opt, *model);
  if (!resolved.ok()) return report("generate", resolved);
  auto prompt = build_prompt(*opt, *model);
  if (!prompt.ok()) return report("generate", prompt.status());

  auto g = run_generation(*model, *opt, std::move(*prompt), /*stream_to_stdout=*/!opt->json);
  if (!g.ok()) return report("generate", g.status());

  if (opt->logits_out) {
    Status s = write_npy_f32(*opt->logits_out, g->logits_rows,
                             static_cast<int64_t>(g->output.size()), model->weights->config.vocab_size);
    if (!s.ok()) return report("generate", s);
  }
  if (opt->dump_kv_path) {
    std::ofstream f(*opt->dump_kv_path);
    f << g->kv_dump.dump() << "\n";
    if (!f) return report("generate", not_found("cannot write " + *opt->dump_kv_path));
  }
  if (opt->json) {
    nlohmann::json j;
    j["text"] = g->text;
    j["token_ids"] = g->output;
    j["prompt_tokens"] = g->prompt.size();
    j["finish_reason"] = finish_reason_name(g->finish);
    j["kv"] = {{"retained", g->kv.retained}, {"offered", g->kv.offered}};
    j["kv_policy"] = kv_policy_name(opt->kv.policy);
    j["kv_budget"] = opt->kv.budget;
    j["timing"] = {{"prefill_s", g->prefill_s},
                   {"decode_s", g->decode_s},
                   {"prefill_tok_per_s", g->prompt.size() / std::max(g->prefill_s, 1e-9)},
                   {"decode_tok_per_s", decode_rate(*g)}};
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("\n");
    std::fflush(stdout);  // the summary on stderr must follow the text, not interleave
    std::fprintf(stderr,
                 "[%zu prompt tokens, %zu generated, finish=%s, kv retained %lld of %lld offered, "
                 "prefill %.1f tok/s, decode %.1f tok/s]\n",
                 g->prompt.size(), g->output.size(), finish_reason_name(g->finish),
                 static_cast<long long>(g->kv.retained), static_cast<long long>(g->kv.offered),
                 g->prompt.size() / std::max(g->prefill_s, 1e-9), decode_rate(*g));
  }
  return kExitOk;
}

}  // namespace trimserve::cli
