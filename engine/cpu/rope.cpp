#include "engine/cpu/rope.h"

#include <cmath>

namespace trimserve::cpu {

Result<Rope> Rope::create(const ModelConfig& config) {
  Rope r;
  r.head_dim_ = config.head_dim;
  if (r.head_dim_ <= 0 || r.head_dim_ % 2 != 0) {
    return invalid_argument("rotary embedding needs an even head_dim, got " +
                            std::to_string(r.head_dim_));
  }
  const int64_t half = r.head_dim_ / 2;
  r.inv_freq_.resize(half);
  for (int64_t i = 0; i < half; ++i) {
    r.inv_freq_[i] = 1.0 / std::pow(config.rope_theta, static_cast<double>(2 * i) /
                                                           static_cast<double>(r.head_dim_));
  }
  const RopeScaling& s = config.rope_scaling;
  if (s.type == "default" || s.type.empty()) {
    // unscaled
  } else if (s.type == "linear") {
    for (double& f : r.inv_freq_) f /= s.factor;
  } else if (s.type == "llama3") {
    // Long wavelengths are slowed by `factor`, short ones kept, the band between interpolated.
    const double old_ctx = static_cast<double>(s.original_max_position_embeddings);
    const double low_wavelen = old_ctx / s.low_freq_factor;
    const double high_wavelen = old_ctx / s.high_freq_factor;
    for (double& f : r.inv_freq_) {
      const double wavelen = 2.0 * M_PI / f;
      if (wavelen > low_wavelen) {
        f /= s.factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth =
            (old_ctx / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
        f = (1.0 - smooth) * f / s.factor + smooth * f;
      }
    }
  } else {
    return unimplemented("rope_scaling type '" + s.type +
                         "' is not supported by the CPU engine (supported: default, linear, llama3)");
  }
  r.inv_freq_f32_.assign(r.inv_freq_.begin(), r.inv_freq_.end());
  return r;
}

void Rope::apply(float* x, int64_t num_heads, int64_t pos) const {
  const int64_t half = head_dim_ / 2;
  for (int64_t i = 0; i < half; ++i) {
    // The angle is rounded to f32 exactly as HF computes it (f32 inv_freq times f32 position):
    // checkpoints were trained with those angles, so matching them matters more than precision.
    const float a = static_cast<float>(pos) * inv_freq_f32_[i];
    const float c = static_cast<float>(std::cos(static_cast<double>(a)));
    const float s = static_cast<float>(std::sin(static_cast<double>(a)));
    for (int64_t h = 0; h < num_heads; ++h) {
      float* v = x + h * head_dim_;
      const float x0 = v[i];
      const float x1 = v[i + half];
      v[i] = x0 * c - x1 * s;
      v[i + half] = x1 * c + x0 * s;
    }
  }
}

}  // namespace trimserve::cpu
