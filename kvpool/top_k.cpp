#include "kvpool/top_k.h"

#include <algorithm>

#include "common/check.h"

namespace trimserve {

void append_scored(const LaneEntries& lane, int32_t lane_index, int64_t q,
                   std::vector<ScoredEntry>& out) {
  const int64_t n = lane.size();
  for (int64_t i = 0; i < n; ++i) {
    const auto k = static_cast<size_t>(i);
    out.push_back(ScoredEntry{retention_score(q, lane.pos[k], lane.log_beta[k]), lane.pos[k],
                              lane_index, static_cast<int32_t>(i)});
  }
}

void partition_top_k(std::vector<ScoredEntry>& ranked, int64_t k) {
  TS_CHECK(k >= 0);
  if (k >= static_cast<int64_t>(ranked.size()) || k == 0) return;
  // After nth_element the k-th element is in its sorted place and everything before it ranks
  // before it; ranks_before is a strict total order, so the selected set is unique.
  // A lambda (not the function pointer) so the comparison inlines: it is the hot loop.
  std::nth_element(ranked.begin(), ranked.begin() + k, ranked.end(),
                   [](const ScoredEntry& a, const ScoredEntry& b) { return ranks_before(a, b); });
}

void keep_lane_top_k(const LaneEntries& lane, int32_t lane_index, int64_t q, int64_t k,
                     std::vector<ScoredEntry>& scratch, std::span<uint8_t> keep) {
  TS_CHECK(static_cast<int64_t>(keep.size()) == lane.size());
  if (k >= lane.size()) return;
  scratch.clear();
  append_scored(lane, lane_index, q, scratch);
  partition_top_k(scratch, k);
  for (size_t i = static_cast<size_t>(k); i < scratch.size(); ++i) {
    keep[static_cast<size_t>(scratch[i].index)] = 0;
  }
}

}  // namespace trimserve
