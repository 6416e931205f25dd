// Session glue: SessionStore bookkeeping (kvpool/session_store.h) applied to a KvPool. Each
// function does the store's step and the matching pool change, so the two never disagree:
// a session's SeqId is registered in the pool exactly while the store holds the session, and
// the pool marks it idle exactly while the store has it parked (so global pressure decays its
// scores). Dropped sessions are counted in the pool's evictions by reason.
//
// Threading: the engine-loop thread only (both objects are single-threaded). Plans returned
// here (rollback) must be applied by the engine before the sequence's next step; sequences
// dropped here are released at once (their pages return to the free list).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <vector>

#include "common/status.h"
#include "kvpool/compaction_plan.h"
#include "kvpool/kv_pool.h"
#include "kvpool/session_store.h"

namespace trimserve {

struct SessionTurn {
  TurnStart start;
  CompactionPlan plan;  // from the rollback truncate; empty when none was needed
};

// begin_turn, then: evicts an LRU-dropped session's sequence (session_limit); marks a resumed
// session's sequence running; for a resumed session
// truncates its sequence at start.truncate_at when needed (pool num_processed becomes
// cached_tokens); for a new session registers `new_seq` in the pool with `kv` (a resumed
// sequence keeps the config it was created with). Errors: the store's; the pool's
// add_sequence error (the new session is dropped again, so nothing stays half-created).
Result<SessionTurn> begin_session_turn(SessionStore& store, KvPool& pool, const SessionKey& key,
                                       std::span<const int32_t> prompt, SeqId new_seq,
                                       const SequenceKvConfig& kv);

// Parks the session (its sequence idle from now). `history` must hold exactly the sequence's processed tokens
// (kFailedPrecondition otherwise, session left running); the store's errors.
Status end_session_turn(SessionStore& store, KvPool& pool, const SessionKey& key,
                        std::vector<int32_t> history);

// Drops a failed turn's session and releases its sequence (not counted as an eviction: the
// request failed). The store's errors.
Status abort_session_turn(SessionStore& store, KvPool& pool, const SessionKey& key);

// Explicit delete: drops an idle session and releases its sequence. The store's errors.
Status delete_session(SessionStore& store, KvPool& pool, const SessionKey& key);

// Expires idle sessions past their TTL and releases their sequences; returns how many.
int64_t expire_sessions(SessionStore& store, KvPool& pool);

// Makes room for `tokens` more entries in every lane of the running sequence `seq` (its next
// step), in the order of DESIGN.md §4:
//   1. KvPool::reclaim over all sequences (idle sessions' scores decayed by idle time, running
//      sequences' sinks and recent window protected) — repeated while it makes progress, since
//      taking `seq`'s own entries can move its lanes' page boundaries and change what it needs;
//   2. drops idle sessions, least recently used first (global_pressure);
//   3. kResourceExhausted "cannot fit" with pages needed and free: the scheduler preempts or
//      queues.
// Afterwards reserve(seq, tokens) succeeds unless step 3 failed. Moves go into `plan`
// (appended; apply before the next step), also when step 3 fails. Precondition: seq exists.
Status make_room(SessionStore& store, KvPool& pool, SeqId seq, int64_t tokens,
                 CompactionPlan& plan);

// The same for a whole batch: `pages_needed` recomputes what every sequence of the step needs
// (it changes when reclaim shaves one of them). Call before reserving any of them: reclaim
// frees reserved but unused pages of the lanes it compacts.
Status make_room_for(SessionStore& store, KvPool& pool,
                     const std::function<int64_t()>& pages_needed, CompactionPlan& plan);

// Limits on idle memory, applied between steps (kvpool.low_watermark, sessions.max_idle_bytes).
struct IdleMemoryLimits {
  int64_t min_free_pages = 0;  // low watermark: reclaim idle entries while fewer pages are free
  int64_t max_idle_pages = std::numeric_limits<int64_t>::max();  // idle sessions' pages cap
};

// Reclaims idle sessions' entries (lowest decayed score first) until both limits hold, then
// drops idle sessions LRU while idle pages still exceed max_idle_pages (sessions whose policy
// cannot shed entries: full, window). Watermark evictions count as global_pressure, the cap's
// as session_limit. Appends to `plan`. Returns entries evicted.
int64_t relieve_idle_memory(SessionStore& store, KvPool& pool, const IdleMemoryLimits& limits,
                            CompactionPlan& plan);

}  // namespace trimserve
