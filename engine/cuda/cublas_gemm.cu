#include "engine/cuda/cublas_gemm.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "engine/cuda/device_buffer.h"

namespace trimserve::cuda {

Result<std::unique_ptr<CublasGemm>> CublasGemm::create() {
  if (device_count() == 0) return Status(ErrorCode::kUnavailable, "no CUDA device");
  cublasHandle_t h = nullptr;
  const cublasStatus_t st = cublasCreate(&h);
  if (st != CUBLAS_STATUS_SUCCESS) {
    return Status(ErrorCode::kUnavailable,
                  std::string("cublasCreate failed: ") + cublasGetStatusString(st));
  }
  // Exact f32 math: the CPU engine is the spec, TF32 would differ by ~1e-3.
  cublasSetMathMode(h, CUBLAS_PEDANTIC_MATH);
  std::unique_ptr<CublasGemm> g(new CublasGemm());
  g->handle_ = h;
  return std::move(g);
}

CublasGemm::~CublasGemm() {
  if (handle_) cublasDestroy(static_cast<cublasHandle_t>(handle_));
}

Status CublasGemm::linear(const float* x, const float* w, float* y, int64_t T, int64_t K, int64_t N) {
  const float one = 1.0f, zero = 0.0f;
  // Column-major: Y^T[N, T] = W[N, K] (stored as K x N col-major, so transpose) * X^T[K, T].
  const cublasStatus_t st =
      cublasSgemm(static_cast<cublasHandle_t>(handle_), CUBLAS_OP_T, CUBLAS_OP_N,
                  static_cast<int>(N), static_cast<int>(T), static_cast<int>(K), &one, w,
                  static_cast<int>(K), x, static_cast<int>(K), &zero, y, static_cast<int>(N));
  if (st != CUBLAS_STATUS_SUCCESS) {
    return internal_error(std::string("cublasSgemm: ") + cublasGetStatusString(st));
  }
  const cudaError_t err = cudaDeviceSynchronize();
  if (err != cudaSuccess) return internal_error(std::string("cuda: ") + cudaGetErrorString(err));
  return Status();
}

}  // namespace trimserve::cuda
