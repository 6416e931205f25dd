// Plain vocabulary of the KV pool, shared with the engine (which may include this header and
// compaction_plan.h, never the rest of kvpool). No CUDA, no threads.
//
// Dimension alphabet (DESIGN.md §7.9): L layers, Hkv kv-heads, B page size (entries per page),
// M per-lane budget.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace trimserve {

using SeqId = uint64_t;
using PageId = int32_t;

// Eviction policy of one sequence (DESIGN.md §3).
enum class KvPolicy {
  kFull,          // never evict
  kWindow,        // StreamingLLM: first `window_sinks` entries + the most recent ones, per lane
  kTrimKv,        // per lane: keep the top-M entries by retention score
  kTrimKvGlobal,  // DBTrimKV: the whole sequence keeps its top M*L*Hkv entries (ragged lanes)
};

const char* kv_policy_name(KvPolicy policy);  // "full" | "window" | "trimkv" | "trimkv-global"
// Error text: "unknown value 'trimkvv' (expected full|window|trimkv|trimkv-global)".
Result<KvPolicy> parse_kv_policy(const std::string& text);

// Why entries left the pool (the `reason` label of the eviction metrics).
enum class EvictionReason : int {
  kBudget,          // a sequence's own policy (compress)
  kGlobalPressure,  // reclaim() for an allocation or the low watermark; idle sessions dropped
                    // (LRU) to make room
  kSessionExpired,  // idle session past its TTL
  kSessionDeleted,  // explicit delete
  kSessionLimit,    // per-tenant session count or KV share, kvpool.sessions.max_idle_bytes
  kPreempted,       // a running sequence dropped to make room (recomputed later)
};
inline constexpr int kNumEvictionReasons = 6;
// "budget" | "global_pressure" | "session_expired" | "session_deleted" | "session_limit" |
// "preempted"
const char* eviction_reason_name(EvictionReason reason);

// Per-sequence eviction settings.
struct SequenceKvConfig {
  KvPolicy policy = KvPolicy::kFull;
  int64_t budget = 0;          // M: entries per lane (window, trimkv); trimkv-global keeps M*L*Hkv
  int64_t buffer = 0;          // compress once a lane (global: the sequence) reaches budget + buffer
  double floor_ratio = 0.0;    // trimkv-global: every lane keeps floor(floor_ratio*M) of its own
  int64_t window_sinks = 4;    // window: leading entries never evicted
};

// Read-only view of one lane (sequence, layer, kv-head) for the engine: entry i lives at
// page pages[i / B], slot i % B. Valid until the next mutating KvPool call.
struct LaneView {
  const PageId* pages = nullptr;
  int64_t num_pages = 0;
  int64_t len = 0;  // entries already cached (before the step that uses this view)
};

}  // namespace trimserve
