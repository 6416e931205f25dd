// Causal softmax attention of one sequence's step tokens over its lanes (DESIGN.md §3: plain
// softmax over the retained entries; β only decides what is kept).
//
// For step token t (0 <= t < T_s) and q-head h, kv-head g = h / (H / Hkv) and lane
// lanes[layer * Hkv + g] holding `len` cached entries followed by the step's own T_s entries
// (already written): out[t, h] = sum_j softmax_j(q[t,h] . k_j / sqrt(D)) v_j over
// j in [0, len + t]. Shapes: q [T_s, H, D], out [T_s, H, D].
#pragma once

#include <cstdint>
#include <vector>

#include "engine/cpu/kv_storage.h"
#include "engine/cpu/thread_pool.h"
#include "kvpool/types.h"

namespace trimserve::cpu {

void lane_attention(ThreadPool& pool, const KvStorage& kv, const LaneView* layer_lanes,
                    const float* q, float* out, int64_t T_s, int64_t H, int64_t Hkv, int64_t D);

}  // namespace trimserve::cpu
