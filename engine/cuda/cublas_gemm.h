// CublasGemm: the cuBLAS handle of the CUDA engine and its one GEMM shape, the linear layer
//   y[T, N] = x[T, K] W[N, K]^T      (row-major, nn.Linear layout; f32, f32 accumulation)
// which is what engine/cpu/matmul.h computes on the CPU. In cuBLAS's column-major terms this
// is y^T = W x^T: op(A) = W^T viewed column-major (A = W, lda = K, transposed), B = x^T (ldb = K).
#pragma once

#include <cstdint>
#include <memory>

#include "common/status.h"

namespace trimserve::cuda {

class CublasGemm {
 public:
  // Errors: no device, cuBLAS init failure (kUnavailable).
  static Result<std::unique_ptr<CublasGemm>> create();
  ~CublasGemm();
  CublasGemm(const CublasGemm&) = delete;
  CublasGemm& operator=(const CublasGemm&) = delete;

  // Device pointers. Synchronous with respect to the default stream of this handle.
  Status linear(const float* x, const float* w, float* y, int64_t T, int64_t K, int64_t N);

 private:
  CublasGemm() = default;
  void* handle_ = nullptr;  // cublasHandle_t, kept opaque so this header needs no CUDA
};

}  // namespace trimserve::cuda
