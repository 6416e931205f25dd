// FaultInjectingEngine: a test hook — an Engine that forwards everything to a real one, except
// that steps fail on demand, so fault tests can watch the daemon handle an engine error
// (requests in the step get it, GET /ready goes false, engine.on_step_error applies) without
// a broken device.
//
// The trigger is a file: before each step, if `trigger_file` exists, the number written in it
// (default 1 when empty or not a number) is added to the steps still to fail and the file is
// removed. A failing step returns kInternal "engine step failed: fault injected by <file>"
// and touches nothing (like a real failed step: no lane changes). `trimserve serve` wraps its
// engine in one only when TRIMSERVE_FAULT_INJECTION_FILE is set, and logs a warning saying so.
//
// Threading: as Engine — the engine loop's thread only.
#pragma once

#include <cstdint>
#include <string>

#include "engine/engine.h"

namespace trimserve {

class FaultInjectingEngine final : public Engine {
 public:
  // `inner` must outlive this engine.
  FaultInjectingEngine(Engine& inner, std::string trigger_file);

  const ModelConfig& model_config() const override { return inner_.model_config(); }
  int64_t num_pages() const override { return inner_.num_pages(); }
  int64_t page_size() const override { return inner_.page_size(); }
  Result<StepOutput> step(const StepInput& input) override;
  void apply(const CompactionPlan& plan) override { inner_.apply(plan); }
  void read_entries(const LaneView& lane, int64_t begin, int64_t n, std::span<float> k_out,
                    std::span<float> v_out) const override {
    inner_.read_entries(lane, begin, n, k_out, v_out);
  }
  void write_entries(const LaneView& lane, int64_t begin, std::span<const float> k,
                     std::span<const float> v) override {
    inner_.write_entries(lane, begin, k, v);
  }

  int64_t injected() const { return injected_; }  // steps failed so far

 private:
  Engine& inner_;
  const std::string trigger_file_;
  int64_t pending_ = 0;
  int64_t injected_ = 0;
};

}  // namespace trimserve
