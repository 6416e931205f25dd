// trimkv (per head): each lane with len >= M + buffer keeps its own top-M entries by
// retention score (ranking rule in retention_score.h). Other lanes are untouched.
#include "common/check.h"
#include "kvpool/eviction_policy.h"
#include "kvpool/top_k.h"

namespace trimserve {

namespace {

class TrimKvPolicy final : public EvictionPolicy {
 public:
  TrimKvPolicy(int64_t budget, int64_t buffer) : budget_(budget), buffer_(buffer) {
    TS_CHECK(budget_ >= 1 && buffer_ >= 0);
  }

  bool is_due(std::span<const LaneEntries> lanes) const override {
    for (const LaneEntries& lane : lanes) {
      if (lane.size() >= budget_ + buffer_) return true;
    }
    return false;
  }

  void select(std::span<const LaneEntries> lanes, int64_t q, PolicyScratch& scratch,
              KeepMask& keep) const override {
    for (size_t l = 0; l < lanes.size(); ++l) {
      if (lanes[l].size() < budget_ + buffer_) continue;
      keep_lane_top_k(lanes[l], static_cast<int32_t>(l), q, budget_, scratch.ranked,
                      keep.lane(static_cast<int64_t>(l)));
    }
  }

 private:
  int64_t budget_;
  int64_t buffer_;
};

}  // namespace

std::unique_ptr<EvictionPolicy> make_trimkv_policy(int64_t budget, int64_t buffer) {
  return std::make_unique<TrimKvPolicy>(budget, buffer);
}

}  // namespace trimserve
