// Retention gate of one layer (DESIGN.md §3): logβ[t, g] for every step token t and kv-head g.
//
//   rg, rg2: h = silu(W1 in + b1) [I];          r = W2 h + bias [Hkv]
//   rg3:     h = silu(Wg in) * (Wu in) [I];     r = W2 h + bias
//   logβ = logsigmoid(r)  (β in (0, 1); the score of an entry is (q - pos) * logβ)
// `in` is [T, Cin]: the attention input RMSNorm(x) for rg (Cin = C), and the per-kv-head
// concatenation [k_0, v_0, k_1, v_1, ...] of post-norm, post-RoPE keys and values for rg2/rg3
// (Cin = 2 * D * Hkv). Output log_beta is written with a row stride (so the caller can place
// the layer's Hkv values inside a [T, L, Hkv] array).
#pragma once

#include <cstdint>

#include "engine/cpu/thread_pool.h"
#include "engine/weights.h"

namespace trimserve::cpu {

void retention_gate(ThreadPool& pool, RetentionGateKind kind, const RetentionGateWeights& gate,
                    const float* in, int64_t T, int64_t Cin, int64_t I, int64_t Hkv,
                    float* log_beta, int64_t log_beta_row_stride);

}  // namespace trimserve::cpu
