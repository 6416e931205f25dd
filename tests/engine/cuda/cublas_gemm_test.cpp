// The cuBLAS linear layer against the CPU engine's matmul (the CPU engine is the spec).
// Tagged [cuda]: without a device the test reports a skip (a warning) and passes.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "engine/cpu/matmul.h"
#include "engine/cuda/cublas_gemm.h"
#include "engine/cuda/device_buffer.h"

using namespace trimserve;

TEST_CASE("cuBLAS linear equals the CPU matmul", "[cuda]") {
  if (cuda::device_count() == 0) {
    WARN("no CUDA device: skipped");
    return;
  }
  auto gemm = cuda::CublasGemm::create();
  REQUIRE(gemm.ok());
  const int64_t T = 7, K = 96, N = 130;
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(T * K), w(N * K), y_cpu(T * N), y_gpu(T * N);
  for (float& v : x) v = dist(rng);
  for (float& v : w) v = dist(rng);
  cpu::ThreadPool pool(2);
  cpu::matmul_wt(pool, x.data(), w.data(), nullptr, y_cpu.data(), T, K, N);

  auto dx = cuda::DeviceBuffer::allocate(x.size() * 4);
  auto dw = cuda::DeviceBuffer::allocate(w.size() * 4);
  auto dy = cuda::DeviceBuffer::allocate(y_gpu.size() * 4);
  REQUIRE((dx.ok() && dw.ok() && dy.ok()));
  REQUIRE(dx->copy_from_host(x.data(), x.size() * 4).ok());
  REQUIRE(dw->copy_from_host(w.data(), w.size() * 4).ok());
  REQUIRE((*gemm)->linear(static_cast<float*>(dx->data()), static_cast<float*>(dw->data()),
                          static_cast<float*>(dy->data()), T, K, N).ok());
  REQUIRE(dy->copy_to_host(y_gpu.data(), y_gpu.size() * 4).ok());
  double max_err = 0;
  for (size_t i = 0; i < y_cpu.size(); ++i) max_err = std::max(max_err, double(std::fabs(y_cpu[i] - y_gpu[i])));
  INFO("max abs error " << max_err);
  CHECK(max_err < 1e-3);
}

TEST_CASE("device queries never fail without a device", "[cuda]") {
  const int n = cuda::device_count();
  CHECK(n >= 0);
  if (n > 0) {
    auto d = cuda::describe_device(0);
    REQUIRE(d.ok());
    CHECK_FALSE(d->empty());
  } else {
    CHECK_FALSE(cuda::CublasGemm::create().ok());
  }
}
