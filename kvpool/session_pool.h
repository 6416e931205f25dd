// Session glue: SessionStore bookkeeping (kvpool/session_store.h) applied to a KvPool. Each
// function does the store's step and the matching pool change, so the two never disagree:
// a session's SeqId is registered in the pool exactly while the store holds the session.
//
// Threading: the engine-loop thread only (both objects are single-threaded). Plans returned
// here (rollback) must be applied by the engine before the sequence's next step; sequences
// dropped here are released at once (their pages return to the free list).
#pragma once

#include <cstdint>
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

// begin_turn, then: releases an LRU-evicted session's sequence; for a resumed session
// truncates its sequence at start.truncate_at when needed (pool num_processed becomes
// cached_tokens); for a new session registers `new_seq` in the pool with `kv` (a resumed
// sequence keeps the config it was created with). Errors: the store's; the pool's
// add_sequence error (the new session is dropped again, so nothing stays half-created).
Result<SessionTurn> begin_session_turn(SessionStore& store, KvPool& pool, const SessionKey& key,
                                       std::span<const int32_t> prompt, SeqId new_seq,
                                       const SequenceKvConfig& kv);

// Parks the session. `history` must hold exactly the sequence's processed tokens
// (kFailedPrecondition otherwise, session left running); the store's errors.
Status end_session_turn(SessionStore& store, KvPool& pool, const SessionKey& key,
                        std::vector<int32_t> history);

// Drops a failed turn's session and releases its sequence. The store's errors.
Status abort_session_turn(SessionStore& store, KvPool& pool, const SessionKey& key);

// Explicit delete: drops an idle session and releases its sequence. The store's errors.
Status delete_session(SessionStore& store, KvPool& pool, const SessionKey& key);

// Expires idle sessions past their TTL and releases their sequences; returns how many.
int64_t expire_sessions(SessionStore& store, KvPool& pool);

}  // namespace trimserve
