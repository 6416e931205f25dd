// window (StreamingLLM): per lane, once len >= M + buffer, keep the first `sinks` entries of
// the lane (attention sinks; lane order = oldest first) and its last M - sinks entries.
// Scores are not consulted. Lanes of one sequence grow in lockstep, so they are cut together.
#include "common/check.h"
#include "kvpool/eviction_policy.h"

namespace trimserve {

namespace {

class WindowPolicy final : public EvictionPolicy {
 public:
  WindowPolicy(int64_t budget, int64_t buffer, int64_t sinks)
      : budget_(budget), buffer_(buffer), sinks_(sinks) {
    TS_CHECK(budget_ >= 1 && buffer_ >= 0 && sinks_ >= 0 && sinks_ < budget_);
  }

  bool is_due(std::span<const LaneEntries> lanes) const override {
    for (const LaneEntries& lane : lanes) {
      if (lane.size() >= budget_ + buffer_) return true;
    }
    return false;
  }

  void select(std::span<const LaneEntries> lanes, int64_t, PolicyScratch&,
              KeepMask& keep) const override {
    for (size_t l = 0; l < lanes.size(); ++l) {
      const int64_t len = lanes[l].size();
      if (len < budget_ + buffer_) continue;
      // Evict the middle [sinks, len - (M - sinks)).
      std::span<uint8_t> mask = keep.lane(static_cast<int64_t>(l));
      const int64_t recent_begin = len - (budget_ - sinks_);
      for (int64_t i = sinks_; i < recent_begin; ++i) mask[static_cast<size_t>(i)] = 0;
    }
  }

 private:
  int64_t budget_;
  int64_t buffer_;
  int64_t sinks_;
};

}  // namespace

std::unique_ptr<EvictionPolicy> make_window_policy(int64_t budget, int64_t buffer, int64_t sinks) {
  return std::make_unique<WindowPolicy>(budget, buffer, sinks);
}

}  // namespace trimserve
