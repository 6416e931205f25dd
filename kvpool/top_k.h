// Top-k selection under the retention ranking (retention_score.h), shared by the trimkv and
// trimkv-global policies. Linear time (nth_element); the caller's scratch vector is reused so
// nothing is allocated per entry.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kvpool/lane.h"
#include "kvpool/retention_score.h"

namespace trimserve {

// Appends one ScoredEntry per entry of `lane` (index = position in the lane) to `out`.
void append_scored(const LaneEntries& lane, int32_t lane_index, int64_t q,
                   std::vector<ScoredEntry>& out);

// Partitions `ranked` so that its first k elements are the k best under ranks_before (in no
// particular order). k >= ranked.size() leaves everything selected.
void partition_top_k(std::vector<ScoredEntry>& ranked, int64_t k);

// Clears keep[i] for every entry of `lane` outside the lane's own top-k. k >= len keeps all.
void keep_lane_top_k(const LaneEntries& lane, int32_t lane_index, int64_t q, int64_t k,
                     std::vector<ScoredEntry>& scratch, std::span<uint8_t> keep);

}  // namespace trimserve
