#include "server/api/daemon_metrics.h"

#include <utility>

namespace trimserve::api {

namespace {

// From 1 ms: a GPU's decode step and inter-token time for a small model are a few ms, which a
// first bucket of 5 ms would lump together (vLLM's buckets start at 1 ms too).
const std::vector<double> kLatencyBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                             0.5,   1,      2.5,   5,    10,    20,   40,  80};
const std::vector<double> kStepTokenBuckets = {1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192};
const std::vector<double> kSequenceBuckets = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};

}  // namespace

DaemonMetrics::DaemonMetrics(EngineLoop& loop, std::string model_name)
    : loop_(loop), model_(std::move(model_name)) {
  registry_.on_scrape([this](metrics::Registry&) { refresh(loop_.stats()); });
  loop.set_step_observer([this](const StepRecord& r) { record_step(r); });
}

void DaemonMetrics::record_step(const StepRecord& r) {
  const metrics::Labels model{{"model_name", model_}};
  registry_.histogram("trimserve_iteration_tokens", "Tokens per engine step (prefill + decode).",
                      kStepTokenBuckets, model)
      .observe(static_cast<double>(r.tokens));
  registry_.histogram("trimserve_batch_sequences", "Requests per engine step.", kSequenceBuckets, model)
      .observe(static_cast<double>(r.sequences));
  registry_.histogram("trimserve_engine_step_seconds", "Duration of one batched forward pass.",
                      kLatencyBuckets, model)
      .observe(r.seconds);
  for (double q : r.queue_s) {
    registry_.histogram("vllm:request_queue_time_seconds", "Submit to first scheduling.",
                        kLatencyBuckets, model)
        .observe(q);
  }
}

void DaemonMetrics::record(const CallRecord& c) {
  const metrics::Labels model{{"model_name", model_}};
  registry_.counter("trimserve_requests_total", "Finished generation requests.",
                    {{"tenant", c.tenant}, {"status", std::to_string(c.status)}, {"finish", c.finish}})
      .inc();
  registry_.counter("vllm:prompt_tokens_total", "Prompt tokens of finished requests.", model)
      .inc(static_cast<double>(c.usage.prompt_tokens));
  registry_.counter("vllm:generation_tokens_total", "Generated tokens of finished requests.", model)
      .inc(static_cast<double>(c.usage.completion_tokens));
  registry_.counter("trimserve_tokens_total", "Tokens by tenant and kind.",
                    {{"tenant", c.tenant}, {"kind", "prompt"}})
      .inc(static_cast<double>(c.usage.prompt_tokens));
  registry_.counter("trimserve_tokens_total", "Tokens by tenant and kind.",
                    {{"tenant", c.tenant}, {"kind", "generation"}})
      .inc(static_cast<double>(c.usage.completion_tokens));
  registry_.counter("trimserve_tokens_total", "Tokens by tenant and kind.",
                    {{"tenant", c.tenant}, {"kind", "cached"}})
      .inc(static_cast<double>(c.usage.cached_tokens));
  {
    std::lock_guard lock(mu_);
    prompt_tokens_ += static_cast<double>(c.usage.prompt_tokens);
    cached_tokens_ += static_cast<double>(c.usage.cached_tokens);
    registry_.gauge("trimserve_prompt_cached_ratio",
                    "Share of prompt tokens served from session caches, since start.")
        .set(prompt_tokens_ > 0 ? cached_tokens_ / prompt_tokens_ : 0.0);
  }
  registry_.histogram("vllm:e2e_request_latency_seconds", "Arrival to last token.",
                      kLatencyBuckets, model)
      .observe(c.e2e_s);
  if (c.ttft_s >= 0) {
    registry_.histogram("vllm:time_to_first_token_seconds", "Arrival to first token.",
                        kLatencyBuckets, model)
        .observe(c.ttft_s);
  }
  if (c.ttft_s >= 0 && c.usage.completion_tokens > 1) {
    registry_.histogram("vllm:time_per_output_token_seconds",
                        "Mean time between output tokens of a request.", kLatencyBuckets, model)
        .observe((c.e2e_s - c.ttft_s) / static_cast<double>(c.usage.completion_tokens - 1));
  }
}

void DaemonMetrics::rejected(const std::string& tenant, int status) {
  registry_.counter("trimserve_rejected_requests_total",
                    "Requests refused before reaching the engine, by HTTP status (429 = rate "
                    "limited).",
                    {{"tenant", tenant}, {"status", std::to_string(status)}})
      .inc();
}

void DaemonMetrics::transport_error(int status) {
  registry_.counter("trimserve_http_transport_errors_total",
                    "HTTP requests the transport refused before routing (no tenant known yet): "
                    "400 malformed, 408 too slow, 413 body too large, 431 headers too large, "
                    "503 too many connections, 500 no answer.",
                    {{"status", std::to_string(status)}})
      .inc();
}

void DaemonMetrics::refresh(const EngineLoopStats& s) {
  const metrics::Labels model{{"model_name", model_}};
  const KvPoolStats& kv = s.sessions.pool;
  const SessionStoreStats& ss = s.sessions.sessions;
  registry_.gauge("vllm:num_requests_running", "Requests in the running batch.", model)
      .set(static_cast<double>(s.running));
  registry_.gauge("vllm:num_requests_waiting", "Requests waiting for admission.", model)
      .set(static_cast<double>(s.waiting));
  registry_.gauge("vllm:kv_cache_usage_perc", "Fraction of KV pages in use (0-1).", model)
      .set(kv.pages_total > 0 ? static_cast<double>(kv.pages_used) / static_cast<double>(kv.pages_total) : 0.0);
  registry_.gauge("trimserve_kv_pages", "KV pages by state.", {{"state", "total"}})
      .set(static_cast<double>(kv.pages_total));
  registry_.gauge("trimserve_kv_pages", "KV pages by state.", {{"state", "used"}})
      .set(static_cast<double>(kv.pages_used));
  registry_.gauge("trimserve_kv_pages", "KV pages by state.", {{"state", "idle"}})
      .set(static_cast<double>(kv.pages_idle));
  registry_.gauge("trimserve_kv_entries", "Cached KV entries (summed over lanes) by state.",
                  {{"state", "running"}})
      .set(static_cast<double>(kv.entries_running));
  registry_.gauge("trimserve_kv_entries", "Cached KV entries (summed over lanes) by state.",
                  {{"state", "idle"}})
      .set(static_cast<double>(kv.entries_idle));
  const int64_t retained = kv.entries_running + kv.entries_idle;
  registry_.gauge("trimserve_kv_retained_ratio",
                  "KV entries retained / offered, over the sequences alive now (1 = nothing "
                  "evicted).")
      .set(kv.entries_offered > 0 ? static_cast<double>(retained) / static_cast<double>(kv.entries_offered) : 1.0);
  registry_.gauge("trimserve_sessions_resident", "Sessions held in the KV pool.")
      .set(static_cast<double>(ss.num_sessions));
  registry_.gauge("trimserve_sessions_on_disk", "Session files in kvpool.sessions.dir.")
      .set(static_cast<double>(s.sessions.disk_files));
  registry_.gauge("trimserve_session_disk_bytes", "Bytes of session files.")
      .set(static_cast<double>(s.sessions.disk_bytes));
  // Counters advance by what happened since the previous scrape.
  auto advance = [&](const std::string& name, const std::string& help, const metrics::Labels& l,
                     int64_t now, int64_t before) {
    registry_.counter(name, help, l).inc(static_cast<double>(std::max<int64_t>(0, now - before)));
  };
  const char* kEvictHelp = "KV entries evicted, by reason.";
  for (int r = 0; r < kNumEvictionReasons; ++r) {
    advance("trimserve_kv_evicted_entries_total", kEvictHelp,
            {{"reason", eviction_reason_name(static_cast<EvictionReason>(r))}},
            kv.evicted[static_cast<size_t>(r)], last_.sessions.pool.evicted[static_cast<size_t>(r)]);
  }
  advance("trimserve_kv_entries_offered_total", "KV entries appended to sequences (summed over lanes).",
          {}, kv.offered_total, last_.sessions.pool.offered_total);
  advance("vllm:num_preemptions_total", "Running requests preempted (recomputed later).", model,
          s.preemptions, last_.preemptions);
  const SessionStoreStats& was = last_.sessions.sessions;
  // A turn on a session restored from disk is a hit of the store too: it counts as "disk" only.
  advance("trimserve_session_turns_total", "Session turns by where the cache came from.",
          {{"cache", "memory"}}, ss.hits - ss.disk_hits, was.hits - was.disk_hits);
  advance("trimserve_session_turns_total", "Session turns by where the cache came from.",
          {{"cache", "new"}}, ss.misses, was.misses);
  advance("trimserve_session_turns_total", "Session turns by where the cache came from.",
          {{"cache", "disk"}}, ss.disk_hits, was.disk_hits);
  const char* kDropHelp = "Sessions dropped, by reason.";
  advance("trimserve_sessions_evicted_total", kDropHelp, {{"reason", "session_expired"}},
          ss.evicted_expired, was.evicted_expired);
  advance("trimserve_sessions_evicted_total", kDropHelp, {{"reason", "session_deleted"}},
          ss.evicted_deleted, was.evicted_deleted);
  advance("trimserve_sessions_evicted_total", kDropHelp, {{"reason", "session_limit"}},
          ss.evicted_limit, was.evicted_limit);
  advance("trimserve_sessions_evicted_total", kDropHelp, {{"reason", "global_pressure"}},
          ss.evicted_pressure, was.evicted_pressure);
  // Session files (kvpool.sessions.dir): a failed write leaves the session in memory and the
  // turn served; operators alert on write_error (a full or read-only disk).
  const char* kFileHelp = "Session file operations, by outcome.";
  advance("trimserve_session_files_total", kFileHelp, {{"op", "saved"}}, s.sessions.disk_saves,
          last_.sessions.disk_saves);
  advance("trimserve_session_files_total", kFileHelp, {{"op", "loaded"}}, s.sessions.disk_loads,
          last_.sessions.disk_loads);
  advance("trimserve_session_files_total", kFileHelp, {{"op", "rejected"}},
          s.sessions.disk_rejected, last_.sessions.disk_rejected);
  advance("trimserve_session_files_total", kFileHelp, {{"op", "write_error"}},
          s.sessions.disk_errors, last_.sessions.disk_errors);
  advance("trimserve_engine_steps_total", "Engine steps (one batched forward pass each).", {},
          s.steps, last_.steps);
  const char* kEndedHelp = "Requests the engine loop ended early, by cause.";
  advance("trimserve_requests_ended_total", kEndedHelp, {{"cause", "engine_error"}}, s.errors,
          last_.errors);
  advance("trimserve_requests_ended_total", kEndedHelp, {{"cause", "deadline"}},
          s.deadlines_exceeded, last_.deadlines_exceeded);
  advance("trimserve_requests_ended_total", kEndedHelp, {{"cause", "too_large"}}, s.too_large,
          last_.too_large);
  // The engine loop's own verdict, as GET /ready has it: 0 for engine.step_error_unready_s
  // after a failed step, then 1 again even if no step has run since (an idle daemon would
  // otherwise read unhealthy until traffic returned).
  registry_.gauge("trimserve_engine_healthy",
                  "1 when the engine is healthy (0 for engine.step_error_unready_s after a "
                  "failed step).")
      .set(loop_.healthy() ? 1.0 : 0.0);
  last_ = s;
}

}  // namespace trimserve::api
