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

void matmul_wt(ThreadPool& pool, const float* x, const float* w, const float* b, float* y,
               int64_t T, int64_t K, int64_t N) {
  // Blocks of 4 tokens share each weight row load; rows of W are split across threads.
  pool.parallel_for(
      N,
      [&](int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n) {
          const float* wn = w + n * K;
          const float bias = b ? b[n] : 0.0f;
          for (int64_t t = 0; t < T; ++t) y[t * N + n] = dot(x + t * K, wn, K) + bias;
        }
      },
      /*grain=*/16);
}

}  // namespace trimserve::cpu
