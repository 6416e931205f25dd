// trimkv-global (DBTrimKV): all entries of a sequence, over every layer and kv-head, compete
// for one budget K = M * (L * Hkv). Due once the sequence's total reaches (M + buffer) * L*Hkv.
//
//   floor_ratio == 0: keep the global top-K (ranking rule in retention_score.h).
//   floor_ratio  > 0: K' = int(K * (1 - floor_ratio)) (double product, truncated like Python
//                     int()); c_l = entries of lane l inside the global top-K';
//                     share_l = c_l + int(M * floor_ratio); lane l keeps its own top-share_l
//                     (all when share_l >= len). Total kept <= K' + L*Hkv*int(M*r) <= K.
// Lanes end up ragged (different lengths); attention is varlen per lane.
#include <algorithm>

#include "common/check.h"
#include "kvpool/eviction_policy.h"
#include "kvpool/top_k.h"

namespace trimserve {

namespace {

class TrimKvGlobalPolicy final : public EvictionPolicy {
 public:
  TrimKvGlobalPolicy(int64_t budget, int64_t buffer, double floor_ratio)
      : budget_(budget), buffer_(buffer), floor_ratio_(floor_ratio) {
    TS_CHECK(budget_ >= 1 && buffer_ >= 0 && floor_ratio_ >= 0.0 && floor_ratio_ < 1.0);
  }

  bool is_due(std::span<const LaneEntries> lanes) const override {
    int64_t total = 0;
    for (const LaneEntries& lane : lanes) total += lane.size();
    return total >= (budget_ + buffer_) * static_cast<int64_t>(lanes.size());
  }

  void select(std::span<const LaneEntries> lanes, int64_t q, PolicyScratch& scratch,
              KeepMask& keep) const override {
    const auto num_lanes = static_cast<int64_t>(lanes.size());
    int64_t total = 0;
    for (const LaneEntries& lane : lanes) total += lane.size();

    const int64_t k = budget_ * num_lanes;
    std::vector<ScoredEntry>& ranked = scratch.ranked;
    ranked.clear();
    ranked.reserve(static_cast<size_t>(total));
    for (int64_t l = 0; l < num_lanes; ++l) {
      append_scored(lanes[static_cast<size_t>(l)], static_cast<int32_t>(l), q, ranked);
    }

    if (floor_ratio_ == 0.0) {
      partition_top_k(ranked, k);
      for (size_t i = static_cast<size_t>(std::min(k, total)); i < ranked.size(); ++i) {
        keep.lane(ranked[i].lane)[static_cast<size_t>(ranked[i].index)] = 0;
      }
      return;
    }

    const auto k_adaptive = static_cast<int64_t>(static_cast<double>(k) * (1.0 - floor_ratio_));
    const auto floor = static_cast<int64_t>(static_cast<double>(budget_) * floor_ratio_);
    partition_top_k(ranked, k_adaptive);
    std::vector<int64_t>& share = scratch.per_lane;
    share.assign(static_cast<size_t>(num_lanes), floor);
    for (size_t i = 0; i < static_cast<size_t>(std::min(k_adaptive, total)); ++i) {
      ++share[static_cast<size_t>(ranked[i].lane)];
    }
    // The lane-local ranking is the global one restricted to the lane, so each lane's top
    // share contains its c_l globally selected entries.
    for (int64_t l = 0; l < num_lanes; ++l) {
      keep_lane_top_k(lanes[static_cast<size_t>(l)], static_cast<int32_t>(l), q,
                      share[static_cast<size_t>(l)], ranked, keep.lane(l));
    }
  }

 private:
  int64_t budget_;
  int64_t buffer_;
  double floor_ratio_;
};

}  // namespace

std::unique_ptr<EvictionPolicy> make_trimkv_global_policy(int64_t budget, int64_t buffer,
                                                          double floor_ratio) {
  return std::make_unique<TrimKvGlobalPolicy>(budget, buffer, floor_ratio);
}

}  // namespace trimserve
