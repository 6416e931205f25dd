#include "server/cli/generation_loop.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <span>

#include "engine/sampler.h"
#include "engine/streaming_decoder.h"

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
  const auto t_decode = std::chrono::steady_clock::now();

  Sampler sampler(opt.sampling);
  FinishChecker finish(opt.sampling, model.eos_token_ids);
  StopMatcher stops(opt.sampling.stop);
  StreamingDecoder decoder(*model.tokenizer);
  auto emit = [&](const std::string& s) {
    g.text += s;
    if (stream && !s.empty()) {
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
    logits = runner.decode(token);
    if (!logits.ok()) return logits.status();
  }
  g.decode_s = seconds_since(t_decode);
  g.kv = runner.kv_stats();
  return g;
}

double prefill_rate(const Generation& g) { return g.prompt.size() / std::max(g.prefill_s, 1e-9); }

double decode_rate(const Generation& g) {
  return g.output.size() > 1 ? (g.output.size() - 1) / std::max(g.decode_s, 1e-9) : 0.0;
}

}  // namespace trimserve::cli
