#include "engine/cpu/matmul.h"

namespace trimserve::cpu {

float dot(const float* a, const float* b, int64_t n) {
  float acc = 0.0f;
  // Reassociating the sum lets the compiler use SIMD lanes (-fopenmp-simd); the result differs
  // from a serial sum by normal f32 rounding only.
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

namespace {

// Four dot products against the same weight row: each w[k] load feeds four tokens, which
// roughly quadruples prefill throughput over one token at a time (decode has T = 1 and is
// bound by reading W anyway).
inline void dot4(const float* x0, const float* x1, const float* x2, const float* x3,
                 const float* w, int64_t K, float out[4]) {
  float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
#pragma omp simd reduction(+ : a0, a1, a2, a3)
  for (int64_t k = 0; k < K; ++k) {
    a0 += x0[k] * w[k];
    a1 += x1[k] * w[k];
    a2 += x2[k] * w[k];
    a3 += x3[k] * w[k];
  }
  out[0] = a0;
  out[1] = a1;
  out[2] = a2;
  out[3] = a3;
}

}  // namespace

void matmul_wt(ThreadPool& pool, const float* x, const float* w, const float* b, float* y,
               int64_t T, int64_t K, int64_t N) {
  // Rows of W are split across threads; within a thread, each row is applied to all T tokens
  // (four at a time) while it is hot in cache.
  pool.parallel_for(
      N,
      [&](int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n) {
          const float* wn = w + n * K;
          const float bias = b ? b[n] : 0.0f;
          int64_t t = 0;
          for (; t + 4 <= T; t += 4) {
            float acc[4];
            dot4(x + t * K, x + (t + 1) * K, x + (t + 2) * K, x + (t + 3) * K, wn, K, acc);
            for (int i = 0; i < 4; ++i) y[(t + i) * N + n] = acc[i] + bias;
          }
          for (; t < T; ++t) y[t * N + n] = dot(x + t * K, wn, K) + bias;
        }
      },
      /*grain=*/16);
}

}  // namespace trimserve::cpu
