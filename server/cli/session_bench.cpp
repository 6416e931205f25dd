#include "server/cli/session_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <utility>

#include "engine/cpu/cpu_engine.h"
#include "engine/model_fingerprint.h"
#include "kvpool/clock.h"
#include "kvpool/kv_pool.h"
#include "scheduler/sequence_runner.h"

namespace trimserve::cli {

namespace {

// Conversation time for idle decay and TTL: advanced by the benchmark, not by the machine.
class VirtualClock final : public Clock {
 public:
  double now_s() const override { return now_; }
  void advance(double s) { now_ += s; }

 private:
  double now_ = 0.0;
};

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

int32_t argmax(const std::vector<float>& logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

// The user's tokens of every turn of conversation c: the same script for every configuration.
std::vector<std::vector<int32_t>> script(const SessionBenchOptions& o, int64_t c, int64_t vocab) {
  std::mt19937_64 rng(o.seed * 1000003 + static_cast<uint64_t>(c));
  std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(vocab - 1));
  std::vector<std::vector<int32_t>> turns(static_cast<size_t>(o.turns));
  for (auto& t : turns) {
    for (int64_t i = 0; i < o.user_tokens; ++i) t.push_back(token(rng));
  }
  return turns;
}

struct Rig {
  std::unique_ptr<cpu::CpuEngine> engine;
  std::unique_ptr<KvPool> pool;
};

Result<Rig> make_rig(std::shared_ptr<const ModelWeights> w, int64_t pages, int64_t page_size,
                     int threads, double idle_decay) {
  cpu::CpuEngineOptions eo;
  eo.num_threads = threads;
  eo.num_pages = pages;
  eo.page_size = page_size;
  auto engine = cpu::CpuEngine::create(w, eo);
  if (!engine.ok()) return engine.status();
  KvPoolOptions po;
  po.num_pages = pages;
  po.page_size = page_size;
  po.num_layers = w->config.num_hidden_layers;
  po.num_kv_heads = w->config.num_key_value_heads;
  po.idle_decay_per_s = idle_decay;
  auto pool = KvPool::create(po);
  if (!pool.ok()) return pool.status();
  return Rig{std::move(*engine), std::move(*pool)};
}

// log-softmax in double.
std::vector<double> log_softmax(const float* x, int64_t n) {
  const double mx = *std::max_element(x, x + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(x[i]) - mx);
  const double lse = mx + std::log(sum);
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = static_cast<double>(x[i]) - lse;
  return out;
}

}  // namespace

Result<SessionBenchResult> run_session_bench(std::shared_ptr<const ModelWeights> weights,
                                             const SessionBenchOptions& o) {
  if (o.conversations < 1 || o.turns < 1 || o.user_tokens < 1 || o.reply_tokens < 1) {
    return invalid_argument("conversations, turns, user and reply tokens must be >= 1");
  }
  const ModelConfig& mc = weights->config;
  const int64_t lanes = mc.num_hidden_layers * mc.num_key_value_heads;
  const int64_t transcript = o.turns * (o.user_tokens + o.reply_tokens);
  if (transcript > mc.max_position_embeddings) {
    return invalid_argument("a conversation of " + std::to_string(transcript) +
                            " tokens exceeds the model's max_position_embeddings " +
                            std::to_string(mc.max_position_embeddings));
  }
  SessionBenchResult r;
  r.options = o;
  r.full_cache_pages = o.conversations * lanes * ceil_div(transcript, o.page_size);
  // Never below what one running sequence needs (plus a page per lane of slack), so every
  // turn can run once everything else is evicted.
  const int64_t one_sequence =
      pages_for_one_sequence(o.kv, transcript, o.prefill_chunk, lanes, o.page_size) + lanes;
  r.pool_pages = o.pool_fraction > 0
                     ? std::max(one_sequence, static_cast<int64_t>(std::llround(
                                                  o.pool_fraction * r.full_cache_pages)))
                     : r.full_cache_pages + one_sequence;
  auto rig = make_rig(weights, r.pool_pages, o.page_size, o.threads, o.idle_decay_per_s);
  if (!rig.ok()) return rig.status();
  VirtualClock clock;
  SessionManagerOptions so;
  so.dir = o.session_dir;
  so.model_fingerprint = model_fingerprint(*weights);
  so.idle.min_free_pages = static_cast<int64_t>(o.low_watermark * r.pool_pages);
  auto manager = SessionManager::create(*rig->engine, *rig->pool, clock, so);
  if (!manager.ok()) return manager.status();
  SessionManager& sessions = **manager;

  std::vector<std::vector<std::vector<int32_t>>> scripts;
  std::vector<std::vector<int32_t>> transcripts(static_cast<size_t>(o.conversations));
  for (int64_t c = 0; c < o.conversations; ++c) scripts.push_back(script(o, c, mc.vocab_size));
  r.logs.resize(static_cast<size_t>(o.conversations));

  SequenceRunnerOptions ro;
  ro.prefill_chunk = o.prefill_chunk;
  ro.make_room = [&](SeqId seq, int64_t tokens) { return sessions.make_room(seq, tokens); };
  SeqId next_seq = 1;
  int64_t fed_tokens = 0;
  double resident_sum = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t t = 0; t < o.turns; ++t) {
    for (int64_t c = 0; c < o.conversations; ++c) {
      clock.advance(o.think_time_s);
      const auto ci = static_cast<size_t>(c);
      std::vector<int32_t>& conv = transcripts[ci];
      const auto& user = scripts[ci][static_cast<size_t>(t)];
      conv.insert(conv.end(), user.begin(), user.end());
      const std::vector<int32_t> prompt = conv;
      ConversationLog& log = r.logs[ci];
      log.prompts.push_back(prompt);
      log.replies.emplace_back();
      ++r.turns;
      r.prompt_tokens += static_cast<int64_t>(prompt.size());
      const SessionKey key{"bench", "conversation-" + std::to_string(c)};
      auto begin = sessions.begin_turn(key, prompt, next_seq++, o.kv);
      if (!begin.ok()) return begin.status();
      if (begin->from_disk) {
        ++r.disk_hits;
      } else if (begin->resumed) {
        ++r.memory_hits;
      } else if (t > 0) {
        ++r.misses;
      }
      r.cached_tokens += begin->cached_tokens;
      auto runner = SequenceRunner::resume(*rig->engine, *rig->pool, begin->seq, ro);
      if (!runner.ok()) return runner.status();
      runner->detach();
      const std::vector<int32_t> rest(prompt.begin() + begin->cached_tokens, prompt.end());
      auto logits = runner->prefill(rest);
      std::vector<int32_t>& reply = log.replies.back();
      Status failed;
      if (logits.ok()) {
        fed_tokens += static_cast<int64_t>(rest.size());
        std::vector<float> cur = std::move(*logits);
        for (int64_t g = 0; g < o.reply_tokens; ++g) {
          reply.push_back(argmax(cur));
          log.logits.insert(log.logits.end(), cur.begin(), cur.end());
          if (g + 1 == o.reply_tokens) break;
          auto next = runner->decode(reply.back());
          if (!next.ok()) {
            failed = next.status();
            break;
          }
          ++fed_tokens;
          cur = std::move(*next);
        }
      } else {
        failed = logits.status();
      }
      if (!failed.ok()) {
        if (failed.code() != ErrorCode::kResourceExhausted) return failed;
        ++r.failed_turns;  // the pool could not fit the step; a server would preempt
        TS_RETURN_IF_ERROR(sessions.abort_turn(key));
        // Keep the transcript consistent with what was logged: drop the partial reply.
        log.logits.resize(log.logits.size() - reply.size() * static_cast<size_t>(mc.vocab_size));
        reply.clear();
      } else {
        std::vector<int32_t> history = prompt;
        history.insert(history.end(), reply.begin(), reply.end() - 1);
        TS_RETURN_IF_ERROR(sessions.end_turn(key, std::move(history)));
      }
      conv.insert(conv.end(), reply.begin(), reply.end());
      sessions.housekeeping();
      resident_sum += static_cast<double>(sessions.stats().sessions.num_sessions);
    }
  }
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.tokens_per_s = r.wall_s > 0 ? static_cast<double>(fed_tokens + r.turns) / r.wall_s : 0;
  r.mean_resident_sessions = resident_sum / static_cast<double>(r.turns);
  r.stats = sessions.stats();
  return r;
}

Status measure_drift(std::shared_ptr<const ModelWeights> weights, SessionBenchResult& r) {
  const SessionBenchOptions& o = r.options;
  const ModelConfig& mc = weights->config;
  const int64_t v = mc.vocab_size;
  const int64_t lanes = mc.num_hidden_layers * mc.num_key_value_heads;
  const int64_t transcript = o.turns * (o.user_tokens + o.reply_tokens);
  auto rig = make_rig(weights, lanes * ceil_div(transcript, o.page_size), o.page_size, o.threads,
                      0.0);
  if (!rig.ok()) return rig.status();
  SequenceRunnerOptions ro;
  ro.prefill_chunk = o.prefill_chunk;  // policy full (the default SequenceKvConfig)
  double kl_sum = 0;
  int64_t n = 0, agree = 0;
  r.max_kl = 0;
  for (size_t c = 0; c < r.logs.size(); ++c) {
    const ConversationLog& log = r.logs[c];
    auto runner = SequenceRunner::create(*rig->engine, *rig->pool, c + 1, ro);
    if (!runner.ok()) return runner.status();
    int64_t row = 0;
    for (size_t t = 0; t < log.prompts.size(); ++t) {
      const std::vector<int32_t>& prompt = log.prompts[t];
      const std::vector<int32_t>& reply = log.replies[t];
      if (reply.empty()) continue;  // a failed turn: its prompt joins the next turn's
      auto logits = runner->prefill(std::span<const int32_t>(prompt).subspan(
          static_cast<size_t>(runner->num_processed())));
      if (!logits.ok()) return logits.status();
      std::vector<float> ref = std::move(*logits);
      for (size_t g = 0; g < reply.size(); ++g, ++row) {
        const std::vector<double> lp = log_softmax(ref.data(), v);
        const std::vector<double> lq = log_softmax(log.logits.data() + row * v, v);
        double kl = 0;
        for (int64_t i = 0; i < v; ++i) {
          const auto k = static_cast<size_t>(i);
          kl += std::exp(lp[k]) * (lp[k] - lq[k]);
        }
        kl_sum += kl;
        r.max_kl = std::max(r.max_kl, kl);
        agree += argmax(ref) == reply[g];
        ++n;
        if (g + 1 == reply.size()) break;
        auto next = runner->decode(reply[g]);
        if (!next.ok()) return next.status();
        ref = std::move(*next);
      }
      ++row;
      // The last reply token was never fed; the next prompt starts with it.
    }
  }
  r.mean_kl = n > 0 ? kl_sum / static_cast<double>(n) : 0;
  r.top1_agreement = n > 0 ? static_cast<double>(agree) / static_cast<double>(n) : 0;
  return Status::ok_status();
}

}  // namespace trimserve::cli
