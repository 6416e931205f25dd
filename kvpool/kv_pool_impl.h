// KvPool's private state, shared by the translation units that implement the facade
// (kv_pool.cpp: per-sequence calls; kv_pool_reclaim.cpp: global pressure across sequences).
// Not part of kvpool's interface: include kvpool/kv_pool.h instead.
#pragma once

#include <array>
#include <memory>
#include <unordered_map>
#include <vector>

#include "common/check.h"
#include "kvpool/eviction_policy.h"
#include "kvpool/kv_pool.h"
#include "kvpool/lane.h"
#include "kvpool/page_table.h"

namespace trimserve {

struct PoolSequence {
  SequenceKvConfig config;
  std::unique_ptr<EvictionPolicy> policy;
  std::vector<Lane> lanes;  // lane = layer * Hkv + head
  SequenceKvStats stats;
  bool idle = false;         // parked session (set_idle) rather than a running sequence
  double idle_since_s = 0.0;  // meaningful while idle
};

struct KvPool::Impl {
  explicit Impl(const KvPoolOptions& o)
      : options(o), num_lanes(o.num_layers * o.num_kv_heads), table(o.num_pages, o.page_size) {}

  PoolSequence& get(SeqId seq) {
    auto it = sequences.find(seq);
    TS_CHECK_MSG(it != sequences.end(), "unknown sequence");
    return it->second;
  }
  const PoolSequence& get(SeqId seq) const { return const_cast<Impl*>(this)->get(seq); }

  const Lane& lane(SeqId seq, int64_t layer, int64_t head) const {
    TS_CHECK(layer >= 0 && layer < options.num_layers && head >= 0 && head < options.num_kv_heads);
    return get(seq).lanes[static_cast<size_t>(layer * options.num_kv_heads + head)];
  }

  void count_evicted(EvictionReason reason, int64_t n) {
    evicted[static_cast<size_t>(reason)] += n;
  }

  KvPoolOptions options;
  int64_t num_lanes;
  PageTable table;
  std::unordered_map<SeqId, PoolSequence> sequences;
  std::array<int64_t, kNumEvictionReasons> evicted{};
  int64_t truncated = 0;
  int64_t offered_total = 0;  // entries ever appended, summed over lanes
  // Reused across calls so compress allocates nothing once warm.
  std::vector<LaneEntries> entries;
  PolicyScratch scratch;
  KeepMask keep;
};

}  // namespace trimserve
