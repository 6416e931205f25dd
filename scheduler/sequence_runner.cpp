#include "scheduler/sequence_runner.h"

#include <algorithm>
#include <string>
#include <utility>

namespace trimserve {

Result<SequenceRunner> SequenceRunner::create(Engine& engine, KvPool& pool, SeqId seq,
                                              const SequenceRunnerOptions& options) {
  if (options.prefill_chunk <= 0) return invalid_argument("prefill chunk must be positive");
  TS_RETURN_IF_ERROR(pool.add_sequence(seq, options.kv));
  return SequenceRunner(engine, pool, seq, options);
}

Result<SequenceRunner> SequenceRunner::resume(Engine& engine, KvPool& pool, SeqId seq,
                                              const SequenceRunnerOptions& options) {
  if (options.prefill_chunk <= 0) return invalid_argument("prefill chunk must be positive");
  if (!pool.has_sequence(seq)) return not_found("resume: unknown sequence " + std::to_string(seq));
  SequenceRunner runner(engine, pool, seq, options);
  runner.num_processed_ = pool.sequence_stats(seq).num_processed;
  return Result<SequenceRunner>(std::move(runner));
}

SequenceRunner::SequenceRunner(Engine& engine, KvPool& pool, SeqId seq,
                               const SequenceRunnerOptions& options)
    : engine_(&engine), pool_(&pool), seq_(seq), options_(options) {}

SequenceRunner::SequenceRunner(SequenceRunner&& other) noexcept
    : engine_(other.engine_),
      pool_(other.pool_),
      seq_(other.seq_),
      options_(other.options_),
      num_processed_(other.num_processed_),
      owns_sequence_(std::exchange(other.owns_sequence_, false)),
      plan_(std::move(other.plan_)) {}

SequenceRunner::~SequenceRunner() {
  if (owns_sequence_) pool_->release(seq_);
}

Result<std::vector<float>> SequenceRunner::prefill(std::span<const int32_t> tokens) {
  if (tokens.empty()) return invalid_argument("the prompt is empty");
  std::vector<float> logits;
  for (size_t begin = 0; begin < tokens.size(); begin += options_.prefill_chunk) {
    const size_t n = std::min<size_t>(options_.prefill_chunk, tokens.size() - begin);
    const bool last = begin + n == tokens.size();
    auto r = run_step(tokens.subspan(begin, n), last ? LogitsMode::kLast : LogitsMode::kNone);
    if (!r.ok()) return r.status();
    if (last) logits = std::move(*r);
  }
  return logits;
}

Status SequenceRunner::prefill_scored(std::span<const int32_t> tokens, const ScoreFn& on_step) {
  if (tokens.empty()) return invalid_argument("the prompt is empty");
  for (size_t begin = 0; begin < tokens.size(); begin += options_.prefill_chunk) {
    const size_t n = std::min<size_t>(options_.prefill_chunk, tokens.size() - begin);
    auto r = run_step(tokens.subspan(begin, n), LogitsMode::kAll);
    if (!r.ok()) return r.status();
    TS_RETURN_IF_ERROR(on_step(static_cast<int64_t>(begin), *r));
  }
  return Status();
}

Result<std::vector<float>> SequenceRunner::decode(int32_t token) {
  const int32_t one[1] = {token};
  return run_step(one, LogitsMode::kLast);
}

Result<std::vector<float>> SequenceRunner::run_step(std::span<const int32_t> tokens, LogitsMode mode) {
  const ModelConfig& mc = engine_->model_config();
  const int64_t T = static_cast<int64_t>(tokens.size());
  if (num_processed_ + T > mc.max_position_embeddings) {
    return out_of_range("sequence of " + std::to_string(num_processed_ + T) +
                        " tokens exceeds the model's max_position_embeddings " +
                        std::to_string(mc.max_position_embeddings));
  }
  if (options_.make_room && pool_->pages_needed(seq_, T) > pool_->num_free_pages()) {
    TS_RETURN_IF_ERROR(options_.make_room(seq_, T));
  }
  TS_RETURN_IF_ERROR(pool_->reserve(seq_, T));

  SequenceStepInput s;
  s.seq = seq_;
  s.tokens.assign(tokens.begin(), tokens.end());
  s.start_pos = num_processed_;
  s.logits = mode;
  for (int64_t l = 0; l < mc.num_hidden_layers; ++l) {
    for (int64_t h = 0; h < mc.num_key_value_heads; ++h) s.lanes.push_back(pool_->lane(seq_, l, h));
  }
  StepInput input;
  input.seqs.push_back(std::move(s));
  auto out = engine_->step(input);
  if (!out.ok()) return out.status();

  std::vector<int32_t> positions(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) positions[t] = static_cast<int32_t>(num_processed_ + t);
  SequenceStepOutput& so = out->seqs.front();
  pool_->append(seq_, positions, so.log_beta);
  num_processed_ += T;
  pool_->compress(seq_, plan_);  // reuses the plan's buffers across steps
  engine_->apply(plan_);
  return std::move(so.logits);
}

int64_t pages_for_one_sequence(const SequenceKvConfig& kv, int64_t max_tokens, int64_t prefill_chunk,
                               int64_t num_lanes, int64_t page_size) {
  auto ceil_div = [](int64_t a, int64_t b) { return (a + b - 1) / b; };
  // Entries a lane can hold at once: everything for full; for per-lane policies at most
  // budget + buffer - 1 before a step plus the step's chunk.
  const int64_t chunk = std::min(prefill_chunk, max_tokens);
  const int64_t per_lane_full = max_tokens;
  const int64_t per_lane_bounded = std::min(max_tokens, kv.budget + kv.buffer + chunk);
  switch (kv.policy) {
    case KvPolicy::kFull:
      return num_lanes * ceil_div(per_lane_full, page_size);
    case KvPolicy::kWindow:
    case KvPolicy::kTrimKv:
      return num_lanes * ceil_div(per_lane_bounded, page_size);
    case KvPolicy::kTrimKvGlobal: {
      // Lanes are ragged: bound the total, plus one partial page per lane.
      const int64_t total = std::min(max_tokens, kv.budget + kv.buffer + chunk) * num_lanes;
      return std::min(num_lanes * ceil_div(per_lane_full, page_size),
                      ceil_div(total, page_size) + num_lanes);
    }
  }
  return num_lanes * ceil_div(per_lane_full, page_size);
}

}  // namespace trimserve
