#include "engine/cpu/attention.h"

#include <algorithm>
#include <cmath>

#include "engine/cpu/matmul.h"

namespace trimserve::cpu {

void lane_attention(ThreadPool& pool, const KvStorage& kv, const LaneView* layer_lanes,
                    const float* q, float* out, int64_t T_s, int64_t H, int64_t Hkv, int64_t D) {
  const int64_t group = H / Hkv;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  pool.parallel_for(T_s * H, [&](int64_t begin, int64_t end) {
    std::vector<float> scores;
    for (int64_t th = begin; th < end; ++th) {
      const int64_t t = th / H;
      const int64_t h = th % H;
      const LaneView& lane = layer_lanes[h / group];
      const int64_t n = lane.len + t + 1;  // cached entries + the step's tokens up to t
      const float* qv = q + th * D;
      scores.resize(n);
      float max_score = -INFINITY;
      for (int64_t j = 0; j < n; ++j) {
        scores[j] = dot(qv, kv.k_entry(lane, j), D) * scale;
        max_score = std::max(max_score, scores[j]);
      }
      double denom = 0.0;
      for (int64_t j = 0; j < n; ++j) {
        scores[j] = std::exp(scores[j] - max_score);
        denom += scores[j];
      }
      float* o = out + th * D;
      std::fill(o, o + D, 0.0f);
      const float inv = static_cast<float>(1.0 / denom);
      for (int64_t j = 0; j < n; ++j) {
        const float p = scores[j] * inv;
        const float* v = kv.v_entry(lane, j);
#pragma omp simd
        for (int64_t d = 0; d < D; ++d) o[d] += p * v[d];
      }
    }
  });
}

}  // namespace trimserve::cpu
