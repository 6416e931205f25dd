// CpuEngine: the readable reference implementation of Engine (DESIGN.md §3; the CUDA engine
// must match it). Qwen3 forward in f32 with f32 accumulation, multithreaded matmuls, retention
// gates computing logβ for every new K/V entry, paged K/V storage owned here.
//
// Batching: one step runs every layer once over the tokens of all sequences in the StepInput
// (one pass over the weights per step), then attention per sequence over its own lanes.
// Threading: owned and called by one thread; internally uses its own ThreadPool.
#pragma once

#include <memory>

#include "engine/cpu/kv_storage.h"
#include "engine/cpu/rope.h"
#include "engine/cpu/thread_pool.h"
#include "engine/engine.h"
#include "engine/weights.h"

namespace trimserve::cpu {

struct CpuEngineOptions {
  int num_threads = 0;      // 0 = all cores
  int64_t num_pages = 0;    // K/V storage capacity in pages (> 0)
  int64_t page_size = 16;   // B
};

class CpuEngine final : public Engine {
 public:
  // Errors: non-positive sizes, rope scaling the engine cannot do.
  static Result<std::unique_ptr<CpuEngine>> create(std::shared_ptr<const ModelWeights> weights,
                                                   const CpuEngineOptions& options);

  const ModelConfig& model_config() const override { return weights_->config; }
  int64_t num_pages() const override { return storage_.num_pages(); }
  int64_t page_size() const override { return storage_.page_size(); }

  Result<StepOutput> step(const StepInput& input) override;
  void apply(const CompactionPlan& plan) override { storage_.apply(plan); }
  void read_entries(const LaneView& lane, int64_t begin, int64_t n, std::span<float> k_out,
                    std::span<float> v_out) const override {
    storage_.read_entries(lane, begin, n, k_out, v_out);
  }
  void write_entries(const LaneView& lane, int64_t begin, std::span<const float> k,
                     std::span<const float> v) override {
    storage_.write_entries(lane, begin, k, v);
  }

  // Read access for tests (e.g. to check compaction against the pool's metadata).
  const KvStorage& storage() const { return storage_; }

 private:
  CpuEngine(std::shared_ptr<const ModelWeights> weights, const CpuEngineOptions& options, Rope rope);

  Status validate(const StepInput& input) const;
  // One decoder layer over all T rows of x [T, C] (in place); fills log_beta [T, L, Hkv].
  void run_layer(int64_t layer, const StepInput& input, const std::vector<int64_t>& row_pos,
                 std::vector<float>& x, std::vector<float>& log_beta);

  std::shared_ptr<const ModelWeights> weights_;
  ThreadPool pool_;
  KvStorage storage_;
  Rope rope_;
};

}  // namespace trimserve::cpu
