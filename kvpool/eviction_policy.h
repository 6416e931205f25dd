// EvictionPolicy: the narrow interface behind which full / window / trimkv / trimkv-global
// decide what one sequence keeps at compress time (DESIGN.md §3 "When", §7.3).
//
// A policy sees only metadata (pos, logβ per lane, in lane order) and q; it never touches
// pages. It answers with a keep mask over every entry of every lane; compaction.h turns the
// mask into storage moves and freed pages. Policies are stateless apart from their settings;
// working memory comes from a caller-owned PolicyScratch so that the pool reuses one set of
// buffers across all sequences and steps (no allocation per entry, none per call once warm).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/status.h"
#include "kvpool/lane.h"
#include "kvpool/retention_score.h"
#include "kvpool/types.h"

namespace trimserve {

// One bit (byte) per entry of every lane of a sequence, lanes concatenated in lane order.
class KeepMask {
 public:
  // Sizes the mask for these lanes and marks every entry kept.
  void reset(std::span<const LaneEntries> lanes);
  int64_t num_lanes() const { return static_cast<int64_t>(offset_.size()) - 1; }
  std::span<uint8_t> lane(int64_t l);
  std::span<const uint8_t> lane(int64_t l) const;

 private:
  std::vector<int64_t> offset_{0};  // lane l is keep_[offset_[l], offset_[l+1])
  std::vector<uint8_t> keep_;
};

// Reusable working memory for policies.
struct PolicyScratch {
  std::vector<ScoredEntry> ranked;
  std::vector<int64_t> per_lane;
};

class EvictionPolicy {
 public:
  virtual ~EvictionPolicy() = default;

  // Whether compression is due for a sequence whose lanes (lane = layer * Hkv + head) hold
  // `lanes` (DESIGN.md §3 "When"). Cheap: O(lanes), so it can run after every step.
  virtual bool is_due(std::span<const LaneEntries> lanes) const = 0;

  // Decides survivors, scored with q = num_processed + 1. Precondition: is_due(lanes) and
  // `keep` was reset() to all-kept for these lanes; the policy clears the entries to evict
  // (possibly none, e.g. when a lane's share covers it).
  virtual void select(std::span<const LaneEntries> lanes, int64_t q, PolicyScratch& scratch,
                      KeepMask& keep) const = 0;
};

// Checks a sequence's settings (kInvalidArgument naming the field): budget >= 1 for every
// policy but full; buffer >= 0; floor_ratio in [0, 1); window: 0 <= window_sinks < budget.
// Budget and buffer are capped at 2^31 so lane lengths and M*L*Hkv products stay in range.
Status validate_sequence_kv_config(const SequenceKvConfig& config);

// Precondition: validate_sequence_kv_config(config).ok().
std::unique_ptr<EvictionPolicy> make_eviction_policy(const SequenceKvConfig& config);

// The four policies (one .cpp each).
std::unique_ptr<EvictionPolicy> make_full_policy();
std::unique_ptr<EvictionPolicy> make_window_policy(int64_t budget, int64_t buffer, int64_t sinks);
std::unique_ptr<EvictionPolicy> make_trimkv_policy(int64_t budget, int64_t buffer);
std::unique_ptr<EvictionPolicy> make_trimkv_global_policy(int64_t budget, int64_t buffer,
                                                          double floor_ratio);

}  // namespace trimserve
