#include "server/cli/generation_loop.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <span>

#include "engine/output_processor.h"

namespace trimserve::cli {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

Result<GenerationContext> make_generation_context(const ModelBundle& model,
                                                  const GenerateOptions& opt,
                                                  int64_t max_total_tokens) {
  const ModelConfig& mc = model.weights->config;
  const int64_t num_lanes = mc.num_hidden_layers * mc.num_key_value_heads;
  cpu::CpuEngineOptions eo;
  eo.num_threads = opt.threads;
  eo.page_size = opt.page_size;
  eo.num_pages = pages_for_one_sequence(opt.kv, max_total_tokens, opt.prefill_chunk, num_lanes,
                                        opt.page_size);
  auto engine = cpu::CpuEngine::create(model.weights, eo);
  if (!engine.ok()) return engine.status();
  auto pool = KvPool::create({eo.num_pages, opt.page_size, mc.num_hidden_layers, mc.num_key_value_heads});
  if (!pool.ok()) return pool.status();
  return GenerationContext{std::move(*engine), std::move(*pool)};
}

Result<Generation> generate(SequenceRunner& runner, const ModelBundle& model,
                            const GenerateOptions& opt, std::vector<int32_t> prompt,
                            int64_t start, bool stream) {
  Generation g;
  g.prompt = std::move(prompt);
  const auto t_prefill = std::chrono::steady_clock::now();
  auto logits = runner.prefill(std::span<const int32_t>(g.prompt).subspan(start));
  if (!logits.ok()) return logits.status();
  g.prefill_s = seconds_since(t_prefill);
  TS_RETURN_IF_ERROR(continue_generation(runner, model, opt, std::move(*logits), g, stream));
  return g;
}

Status continue_generation(SequenceRunner& runner, const ModelBundle& model,
                           const GenerateOptions& opt, std::vector<float> logits, Generation& g,
                           bool stream) {
  const auto t_decode = std::chrono::steady_clock::now();
  OutputProcessor out(opt.sampling, *model.tokenizer, model.eos_token_ids);
  for (;;) {
    if (opt.want_logits) g.logits_rows.insert(g.logits_rows.end(), logits.begin(), logits.end());
    const OutputProcessor::Step step = out.next(logits, g.prompt);
    g.text += step.text;
    if (stream && !step.text.empty()) {
      std::fwrite(step.text.data(), 1, step.text.size(), stdout);
      std::fflush(stdout);
    }
    if (step.finish != FinishReason::kNone) {
      g.finish = step.finish;
      break;
    }
    auto next = runner.decode(step.token);
    if (!next.ok()) return next.status();
    logits = std::move(*next);
  }
  g.output = out.output();
  g.decode_s = seconds_since(t_decode);
  g.kv = runner.kv_stats();
  return Status();
}

double prefill_rate(const Generation& g) { return g.prompt.size() / std::max(g.prefill_s, 1e-9); }

double decode_rate(const Generation& g) {
  return g.output.size() > 1 ? (g.output.size() - 1) / std::max(g.decode_s, 1e-9) : 0.0;
}

}  // namespace trimserve::cli
