// Rotary position embedding (HF "rotate_half" convention, as Qwen3/Llama use it).
//
//   inv_freq[i] = theta^(-2i/D), i in [0, D/2); angle[i] = p * inv_freq[i] with p the position
//   (inv_freq divided by `factor` for linear scaling; llama3 scaling rescales inv_freq by wavelength).
//   For a head vector x[D]: x'[i] = x[i] cos a_i - x[i + D/2] sin a_i,
//                           x'[i + D/2] = x[i + D/2] cos a_i + x[i] sin a_i.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "engine/model_config.h"

namespace trimserve::cpu {

class Rope {
 public:
  // Errors: rope_scaling types other than default/linear/llama3 (kUnimplemented); odd D.
  static Result<Rope> create(const ModelConfig& config);

  // Rotates `num_heads` head vectors of length D (contiguous, [num_heads, D]) in place for
  // position `pos`.
  void apply(float* x, int64_t num_heads, int64_t pos) const;

  int64_t head_dim() const { return head_dim_; }

 private:
  int64_t head_dim_ = 0;
  std::vector<double> inv_freq_;     // computed in double, scaling applied
  std::vector<float> inv_freq_f32_;  // what HF multiplies positions with (f32)
};

}  // namespace trimserve::cpu
