// matmul_wt: the linear layer of the CPU engine, y = x W^T (+ b).
//
//   x: [T, K] activations, W: [N, K] weight (nn.Linear layout), b: [N] or null, y: [T, N].
// Parallel over N so each weight row is read once per step for all T tokens (one weight pass
// per step is what makes continuous batching pay off on CPU). f32 inputs, f32 accumulation.
#pragma once

#include <cstdint>

#include "engine/cpu/thread_pool.h"

namespace trimserve::cpu {

void matmul_wt(ThreadPool& pool, const float* x, const float* w, const float* b, float* y,
               int64_t T, int64_t K, int64_t N);

// Dot product of two length-n vectors with f32 accumulation (vectorised).
float dot(const float* a, const float* b, int64_t n);

}  // namespace trimserve::cpu
