// KvPool: the facade over all KV metadata (DESIGN.md §4). It owns a fixed array of pages of
// B entries, the lanes of every sequence (pages + pos[] + logβ[] host mirror) and each
// sequence's eviction policy. The engine owns K/V storage laid out as [num_pages, B, D] per
// layer-agnostic page; kvpool tells it where to write (lane views) and what to move
// (CompactionPlan).
//
// Threading: not thread-safe. Only the engine-loop thread calls it (one thread owns mutable
// inference state, DESIGN.md §7.5). No CUDA, no I/O.
//
// One step of a sequence, in order:
//   reserve(seq, T)        every lane gets room for T more entries (may allocate pages)
//   lanes(seq)             views the engine writes the T new K/V rows into, at [len, len+T)
//   append(seq, pos, lb)   records pos and logβ of those rows; lanes grow by T
//   compress(seq)          applies the policy when due; returns the plan the engine applies
//                          before the next step that touches these pages
//
// Global pressure (DESIGN.md §4): when reserve() would not fit, or free pages fall under the
// low watermark, the owner calls reclaim(), which evicts the lowest-ranked entries across all
// sequences (idle sessions' scores decayed by idle time; a running sequence's sinks and recent
// window protected). Dropping whole idle sessions (LRU) and preempting running sequences are
// the caller's next steps (kvpool/session_pool.h, the scheduler); evict_sequence() counts them.
//
// Every call that changes cached entries returns or fills a CompactionPlan; the engine applies
// it before the next step that reads those lanes. When the pool is full, reserve() and
// restore_sequence() fail with kResourceExhausted and change nothing.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <vector>

#include "common/status.h"
#include "kvpool/compaction_plan.h"
#include "kvpool/lane.h"  // LaneEntries
#include "kvpool/types.h"

namespace trimserve {

struct KvPoolOptions {
  int64_t num_pages = 0;     // fixed for the pool's lifetime
  int64_t page_size = 16;    // B
  int64_t num_layers = 0;    // L
  int64_t num_kv_heads = 0;  // Hkv
  // Global pressure: an idle sequence's entries rank this much score lower per second idle
  // (kvpool.idle_decay_per_s), so long-idle sessions lose entries first. >= 0.
  double idle_decay_per_s = 0.0;
  // Global pressure never takes these entries of a running sequence, in every lane: positions
  // < protected_sinks (attention sinks) and the protected_recent newest entries. >= 0.
  int64_t protected_sinks = 4;
  int64_t protected_recent = 16;
};

struct SequenceKvStats {
  int64_t retained = 0;       // entries currently cached, summed over all lanes
  int64_t offered = 0;        // entries ever appended, summed over all lanes
  int64_t num_processed = 0;  // tokens processed (q = num_processed + 1 in scores)
  int64_t num_compressions = 0;
};

struct KvPoolStats {
  int64_t pages_total = 0;
  int64_t pages_used = 0;
  int64_t pages_idle = 0;  // held by idle sequences
  int64_t num_sequences = 0;
  int64_t num_idle = 0;
  int64_t entries_running = 0;  // cached entries, summed over lanes, of running sequences
  int64_t entries_idle = 0;     // ... of idle sequences
  int64_t entries_offered = 0;  // entries ever appended to the sequences alive now
  int64_t offered_total = 0;    // entries ever appended to any sequence (a counter)
  std::array<int64_t, kNumEvictionReasons> evicted{};  // entries, by EvictionReason
  int64_t truncated = 0;  // entries dropped by truncate() (session rollback; not an eviction)

  int64_t evicted_by(EvictionReason reason) const { return evicted[static_cast<size_t>(reason)]; }
};

// What reclaim() must reach; it stops as soon as both hold.
struct ReclaimTarget {
  int64_t min_free_pages = 0;
  int64_t max_idle_pages = std::numeric_limits<int64_t>::max();
  bool idle_only = false;  // take entries of idle sequences only (watermark, idle-memory cap)
  EvictionReason reason = EvictionReason::kGlobalPressure;
};

class KvPool {
 public:
  // Validates options (positive sizes) via create(); the constructor assumes valid options.
  static Result<std::unique_ptr<KvPool>> create(const KvPoolOptions& options);
  explicit KvPool(const KvPoolOptions& options);
  ~KvPool();

  const KvPoolOptions& options() const;

  // Registers a sequence with no entries. Errors: id already present (kFailedPrecondition);
  // budget < 1 for a policy that evicts, window_sinks >= budget, floor_ratio outside [0, 1),
  // buffer < 0 (kInvalidArgument, naming the field).
  Status add_sequence(SeqId seq, const SequenceKvConfig& config);
  bool has_sequence(SeqId seq) const;

  // Ensures every lane of `seq` has capacity for `n` more entries, taking pages from the free
  // list. All-or-nothing: on kResourceExhausted (message: pages needed and free) nothing
  // changed. Errors: unknown seq (kNotFound), n < 0 (kInvalidArgument).
  Status reserve(SeqId seq, int64_t n);

  // Pages reserve(seq, n) would take now (0 when the lanes already have room); for admission
  // checks. Saturates at INT64_MAX for absurd n. Precondition: the sequence exists.
  int64_t pages_needed(SeqId seq, int64_t n) const;

  // View of lane (layer, head) of `seq`. Precondition: the sequence exists.
  LaneView lane(SeqId seq, int64_t layer, int64_t head) const;

  // Records `positions.size()` = T new entries in every lane after the engine wrote their K/V
  // at indices [len, len+T). log_beta is [T, L, Hkv] row-major. Precondition: reserve(seq, T)
  // succeeded since the last append.
  void append(SeqId seq, std::span<const int32_t> positions, std::span<const float> log_beta);

  // Runs the sequence's policy if due (DESIGN.md §3 "When"): per-lane policies cut a lane with
  // len >= budget + buffer to its budget; trimkv-global cuts the sequence once its total
  // reaches (budget + buffer)*L*Hkv to budget*L*Hkv (with the per-lane floor). Scores use
  // q = num_processed + 1 and the ranking of kvpool/retention_score.h. Returns the moves and
  // freed pages; an empty plan when nothing was due or nothing was evicted. Freed pages go
  // back to the free list at once: apply the plan before the next engine step.
  CompactionPlan compress(SeqId seq);
  // Same, into a caller-owned plan that is cleared first; reusing one plan across steps keeps
  // its buffers (a due compress at M = 1024, L*Hkv = 224 can emit ~10^5 moves).
  void compress(SeqId seq, CompactionPlan& plan);

  // Rollback (DESIGN.md §4 "Sessions"): drops every entry with pos >= `pos` from every lane of
  // `seq`, frees the pages past each lane's new length, and sets the sequence's num_processed
  // to `pos`, so the next step writes position `pos` and scores use q = pos + 1. Lanes appended
  // in increasing position order lose a suffix (no moves); otherwise survivors slide to the
  // front as in compress(). The returned plan must be applied by the engine before the next
  // step, like a compress() plan; freed pages are back on the free list at once. `pos` equal
  // to num_processed is a no-op (empty plan). Does not count as a compression.
  // Errors: unknown seq (kNotFound); pos < 0 or pos > num_processed (kOutOfRange).
  Result<CompactionPlan> truncate(SeqId seq, int64_t pos);

  // Re-creates a sequence from saved metadata (a persisted session): registers it as
  // add_sequence does, reserves room in every lane, records each lane's entries (pos, logβ,
  // in lane order) and sets num_processed (offered = retained). The engine then writes each
  // lane's K/V rows at [0, len) through lane(). All-or-nothing. Errors: add_sequence's;
  // lanes.size() != L*Hkv, a position outside [0, num_processed) (kInvalidArgument); not
  // enough free pages (kResourceExhausted).
  Status restore_sequence(SeqId seq, const SequenceKvConfig& config, int64_t num_processed,
                          std::span<const LaneEntries> lanes);

  // Drops the sequence and frees its pages (a finished request). Returns the freed pages
  // (empty for an unknown id, so a second release is harmless).
  std::vector<PageId> release(SeqId seq);

  // Drops the sequence as an eviction: release() plus its retained entries counted under
  // `reason` (an expired, deleted, LRU-dropped or preempted sequence).
  std::vector<PageId> evict_sequence(SeqId seq, EvictionReason reason);

  // Marks the sequence idle since now_s (a parked session) or running (the default for a new
  // sequence). Idle sequences rank idle_decay_per_s * (now - since) lower under reclaim() and
  // have no protected entries. Precondition: the sequence exists.
  void set_idle(SeqId seq, double now_s);
  void set_running(SeqId seq);
  bool is_idle(SeqId seq) const;

  // Global pressure: evicts entries lowest rank first across every sequence whose policy ranks
  // by retention score (trimkv, trimkv-global; full and window sequences keep what their policy
  // promises and can only leave whole) until num_free_pages() >= min_free_pages and idle pages
  // <= max_idle_pages, or no candidate is left. Rank, lowest first: score (kvpool/
  // retention_score.h, with each sequence's own q) minus idle_decay_per_s * idle seconds for
  // idle sequences; then smaller pos, larger sequence id, larger lane, smaller index (a strict
  // total order). Moves and freed pages are appended to `plan` (lanes of different sequences
  // never share pages, so one plan serves all) and must be applied before the next step.
  // Entries are counted under target.reason. Returns the entries evicted.
  int64_t reclaim(const ReclaimTarget& target, double now_s, CompactionPlan& plan);

  int64_t num_free_pages() const;
  // Pages the sequence's lanes hold (what releasing it gives back). Precondition: it exists.
  int64_t pages_held(SeqId seq) const;

  // Metadata of a lane, in lane order (for tests and session bookkeeping).
  std::vector<int32_t> lane_positions(SeqId seq, int64_t layer, int64_t head) const;
  std::vector<float> lane_log_beta(SeqId seq, int64_t layer, int64_t head) const;

  SequenceKvStats sequence_stats(SeqId seq) const;
  // The eviction settings the sequence was added with. Precondition: the sequence exists.
  const SequenceKvConfig& sequence_config(SeqId seq) const;
  KvPoolStats stats() const;

  // Audits the bookkeeping (O(pages + entries)): no page leaked or double-owned, page owners
  // and fills match the lanes, each sequence's `retained` equals its lanes' lengths. Returns
  // kInternal naming the first violation. For tests and debug checks; mutates nothing.
  Status check_invariants() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trimserve
