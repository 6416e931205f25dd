#include "engine/cpu/retention_gate.h"

#include <vector>

#include "engine/cpu/matmul.h"
#include "engine/cpu/ops.h"

namespace trimserve::cpu {

void retention_gate(ThreadPool& pool, RetentionGateKind kind, const RetentionGateWeights& gate,
                    const float* in, int64_t T, int64_t Cin, int64_t I, int64_t Hkv,
                    float* log_beta, int64_t log_beta_row_stride) {
  std::vector<float> h(static_cast<size_t>(T * I));
  if (kind == RetentionGateKind::kRg3) {
    std::vector<float> up(static_cast<size_t>(T * I));
    matmul_wt(pool, in, gate.w1.ptr(), nullptr, h.data(), T, Cin, I);
    matmul_wt(pool, in, gate.w_up.ptr(), nullptr, up.data(), T, Cin, I);
    swiglu_inplace(h.data(), up.data(), T * I);
  } else {
    matmul_wt(pool, in, gate.w1.ptr(), gate.b1.ptr(), h.data(), T, Cin, I);
    silu_inplace(h.data(), T * I);
  }
  std::vector<float> r(static_cast<size_t>(T * Hkv));
  matmul_wt(pool, h.data(), gate.w2->ptr(), gate.bias->ptr(), r.data(), T, I, Hkv);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t g = 0; g < Hkv; ++g) log_beta[t * log_beta_row_stride + g] = log_sigmoid(r[t * Hkv + g]);
  }
}

}  // namespace trimserve::cpu
