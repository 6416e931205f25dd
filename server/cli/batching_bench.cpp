#include "server/cli/batching_bench.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "engine/cpu/cpu_engine.h"
#include "kvpool/clock.h"
#include "scheduler/engine_loop.h"
#include "server/cli/bench_stats.h"

namespace trimserve::cli {

Result<std::vector<BatchingLevel>> run_batching_bench(const ModelBundle& model,
                                                      const BatchingBenchOptions& o) {
  const ModelConfig& mc = model.weights->config;
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(mc.vocab_size - 1));
  std::vector<std::vector<int32_t>> prompts(static_cast<size_t>(o.requests));
  for (auto& p : prompts) {
    for (int64_t i = 0; i < o.prompt_tokens; ++i) p.push_back(token(rng));
  }
  std::vector<BatchingLevel> levels;
  for (int64_t c : o.concurrency) {
    // A fresh engine, pool and loop per level: nothing cached carries over.
    const int64_t lanes = mc.num_hidden_layers * mc.num_key_value_heads;
    const int64_t b = 16;
    const int64_t per_seq = lanes * ((o.prompt_tokens + o.output_tokens + b - 1) / b + 1);
    cpu::CpuEngineOptions eo;
    eo.num_threads = o.threads;
    eo.num_pages = per_seq * c;
    eo.page_size = b;
    auto engine = cpu::CpuEngine::create(model.weights, eo);
    if (!engine.ok()) return engine.status();
    KvPoolOptions po;
    po.num_pages = eo.num_pages;
    po.page_size = b;
    po.num_layers = mc.num_hidden_layers;
    po.num_kv_heads = mc.num_key_value_heads;
    auto pool = KvPool::create(po);
    if (!pool.ok()) return pool.status();
    SteadyClock clock;
    auto sessions = SessionManager::create(**engine, **pool, clock, {});
    if (!sessions.ok()) return sessions.status();
    SchedulerOptions so;
    so.max_running = c;
    so.max_batched_tokens = std::max<int64_t>(512, c + o.prompt_tokens);
    so.prefill_chunk = 512;
    auto scheduler = Scheduler::create(so, {TenantSchedule{"default"}}, clock);
    if (!scheduler.ok()) return scheduler.status();
    EngineLoop loop(**engine, **pool, **sessions, **scheduler, *model.tokenizer, {});
    loop.start();

    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<TokenStream>> streams;
    for (const auto& p : prompts) {
      GenerationRequest r;
      r.prompt = p;
      r.sampling.temperature = 0;
      r.sampling.max_tokens = o.output_tokens;
      r.sampling.ignore_eos = true;
      r.stream_capacity = static_cast<size_t>(o.output_tokens) + 1;
      streams.push_back(loop.submit(std::move(r)));
    }
    std::vector<double> ttft;
    int64_t output = 0;
    for (auto& s : streams) {
      bool first = true;
      for (;;) {
        auto e = s->pop(std::chrono::seconds(600));
        if (!e) return Status(ErrorCode::kInternal, "benchmark request timed out");
        if (e->kind == StreamEvent::Kind::kError) return e->error;
        if (e->kind == StreamEvent::Kind::kFinished) break;
        ++output;
        if (first) {
          ttft.push_back(std::chrono::duration<double>(e->at - t0).count());
          first = false;
        }
      }
    }
    BatchingLevel l;
    l.concurrency = c;
    l.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    loop.stop();
    l.requests_per_s = static_cast<double>(o.requests) / l.wall_s;
    l.output_tokens_per_s = static_cast<double>(output) / l.wall_s;
    // TTFT is from submission to when the loop pushed the first token (StreamEvent::at), so
    // the order the streams are drained in here does not matter.
    l.ttft_p50_s = percentile(ttft, 0.5);
    l.ttft_p99_s = percentile(ttft, 0.99);
    l.max_batch = loop.stats().max_batch_sequences;
    levels.push_back(l);
  }
  for (BatchingLevel& l : levels) {
    l.ratio_vs_sequential = l.output_tokens_per_s / levels.front().output_tokens_per_s;
  }
  return levels;
}

}  // namespace trimserve::cli
