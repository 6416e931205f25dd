// Elementwise and row-wise f32 kernels of the CPU reference engine. Shapes use the dimension
// alphabet (DESIGN.md §7.9); every array is row-major and contiguous.
#pragma once

#include <cstdint>

namespace trimserve::cpu {

// y[t, :] = x[t, :] / sqrt(mean(x[t, :]^2) + eps) * w        x, y: [rows, n]; w: [n]
// In place is allowed (x == y).
void rmsnorm(const float* x, const float* w, float* y, int64_t rows, int64_t n, float eps);

// x = x * sigmoid(x), elementwise over n values.
void silu_inplace(float* x, int64_t n);

// a[i] = silu(a[i]) * b[i]  (SwiGLU combine), n values.
void swiglu_inplace(float* a, const float* b, int64_t n);

// log(sigmoid(x)) computed without overflow: -softplus(-x).
float log_sigmoid(float x);

// x[i] += y[i]
void add_inplace(float* x, const float* y, int64_t n);

}  // namespace trimserve::cpu
