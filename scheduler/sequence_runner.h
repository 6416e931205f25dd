// SequenceRunner: runs ONE sequence through an Engine and a KvPool, step by step, with the
// TrimKV protocol of DESIGN.md §3: the prompt is prefilled in chunks of `prefill_chunk` tokens
// (one engine step each), and after every step — prefill chunk or decode — the pool's policy
// compresses the sequence and the engine applies the compaction plan. So a prompt far longer
// than the budget needs only budget + chunk entries per lane.
//
// It is the driver of `trimserve generate` / `eval` and the executable spec the continuous-
// batching engine loop (issue 5) must reproduce. Not thread-safe; one owner thread.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "common/status.h"
#include "engine/engine.h"
#include "kvpool/kv_pool.h"

namespace trimserve {

struct SequenceRunnerOptions {
  SequenceKvConfig kv;
  int64_t prefill_chunk = 512;  // tokens per prefill step (> 0)
  // Called before a step whose entries do not fit the free pages, to relieve global pressure
  // (e.g. SessionManager::make_room, which applies its plans to the engine). Empty: the step
  // fails with the pool's kResourceExhausted.
  std::function<Status(SeqId seq, int64_t tokens)> make_room;
};

class SequenceRunner {
 public:
  // Registers `seq` in the pool. Errors: invalid kv config (the pool's message), chunk <= 0.
  static Result<SequenceRunner> create(Engine& engine, KvPool& pool, SeqId seq,
                                       const SequenceRunnerOptions& options);
  // Continues `seq`, which is already in the pool (e.g. a resumed session, possibly truncated):
  // no add_sequence; positions continue at the pool's num_processed for it, and the pool keeps
  // the sequence's own eviction config (options.kv is ignored). Errors: unknown seq
  // (kNotFound), chunk <= 0.
  static Result<SequenceRunner> resume(Engine& engine, KvPool& pool, SeqId seq,
                                       const SequenceRunnerOptions& options);
  // Destroying a runner releases its sequence unless detach() was called (then the sequence
  // and its pages stay in the pool, e.g. parked as an idle session).
  ~SequenceRunner();
  SequenceRunner(SequenceRunner&& other) noexcept;
  SequenceRunner& operator=(SequenceRunner&&) = delete;
  SequenceRunner(const SequenceRunner&) = delete;

  // Feeds `tokens` (the prompt, or more of it) and returns the logits [V] after the last one.
  // Errors: an empty prompt, a position past the model's limit (kOutOfRange), no KV pages
  // (kResourceExhausted). On error the sequence keeps the state of its last completed step.
  Result<std::vector<float>> prefill(std::span<const int32_t> tokens);

  // Feeds one generated token; returns the logits [V] for the next one.
  Result<std::vector<float>> decode(int32_t token);

  // Scoring prefill (perplexity): feeds `tokens` in the same chunks, with the same compression
  // after every step, as prefill(), but every step returns the logits of ALL its tokens
  // (LogitsMode::kAll). After each step (its compression included, so kv_stats() is the
  // post-step state) calls on_step(offset, logits): offset = the index in `tokens` of the
  // step's first token, logits = [n, V] for its n tokens (row i: the distribution of the
  // token that follows tokens[offset + i]). An error from on_step stops the prefill and is
  // returned; other errors as prefill().
  using ScoreFn = std::function<Status(int64_t offset, std::span<const float> logits)>;
  Status prefill_scored(std::span<const int32_t> tokens, const ScoreFn& on_step);

  // From now on the destructor leaves the sequence in the pool.
  void detach() { owns_sequence_ = false; }

  int64_t num_processed() const { return num_processed_; }
  SequenceKvStats kv_stats() const { return pool_->sequence_stats(seq_); }
  SeqId seq() const { return seq_; }

 private:
  SequenceRunner(Engine& engine, KvPool& pool, SeqId seq, const SequenceRunnerOptions& options);
  // One engine step over `tokens` at positions num_processed_.. ; returns the logits rows
  // `mode` asks for ([0], [V] or [T, V]).
  Result<std::vector<float>> run_step(std::span<const int32_t> tokens, LogitsMode mode);

  Engine* engine_;
  KvPool* pool_;
  SeqId seq_;
  SequenceRunnerOptions options_;
  int64_t num_processed_ = 0;
  bool owns_sequence_ = true;
  CompactionPlan plan_;  // scratch for compress(), kept to avoid reallocating per step
};

// Pages a KvPool needs so that one sequence of up to `max_tokens` tokens never runs out under
// `kv` with prefill chunks of `prefill_chunk` (per-lane bound for per-lane policies, total bound
// for trimkv-global, whose lanes are ragged).
int64_t pages_for_one_sequence(const SequenceKvConfig& kv, int64_t max_tokens, int64_t prefill_chunk,
                               int64_t num_lanes, int64_t page_size);

}  // namespace trimserve
