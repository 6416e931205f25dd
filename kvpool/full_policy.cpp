// full: the no-eviction baseline. Compression is never due, so lanes only grow.
#include "kvpool/eviction_policy.h"

namespace trimserve {

namespace {

class FullPolicy final : public EvictionPolicy {
 public:
  bool is_due(std::span<const LaneEntries>) const override { return false; }
  void select(std::span<const LaneEntries>, int64_t, PolicyScratch&, KeepMask&) const override {}
};

}  // namespace

std::unique_ptr<EvictionPolicy> make_full_policy() { return std::make_unique<FullPolicy>(); }

}  // namespace trimserve
