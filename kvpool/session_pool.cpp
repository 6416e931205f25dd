#include "kvpool/session_pool.h"

#include <string>
#include <utility>

#include "common/check.h"
#include "kvpool/eviction_policy.h"

namespace trimserve {

Result<SessionTurn> begin_session_turn(SessionStore& store, KvPool& pool, const SessionKey& key,
                                       std::span<const int32_t> prompt, SeqId new_seq,
                                       const SequenceKvConfig& kv) {
  // Validate what the pool would reject before the store changes anything.
  const bool is_new = !store.info(key).ok();
  if (is_new) {
    if (pool.has_sequence(new_seq)) {
      return failed_precondition("sequence " + std::to_string(new_seq) + " already exists");
    }
    TS_RETURN_IF_ERROR(validate_sequence_kv_config(kv));
  }
  auto started = store.begin_turn(key, prompt, new_seq);
  if (!started.ok()) return started.status();
  SessionTurn turn;
  turn.start = std::move(*started);
  if (turn.start.evicted) pool.release(*turn.start.evicted);
  if (!turn.start.resumed) {
    const Status added = pool.add_sequence(turn.start.seq, kv);
    if (!added.ok()) {
      TS_CHECK(store.abort_turn(key).ok());
      return added;
    }
    return turn;
  }
  TS_CHECK_MSG(pool.has_sequence(turn.start.seq), "an idle session lost its sequence");
  if (turn.start.needs_truncate) {
    auto plan = pool.truncate(turn.start.seq, turn.start.truncate_at);
    TS_CHECK_MSG(plan.ok(), "session history longer than its sequence");
    turn.plan = std::move(*plan);
  }
  TS_CHECK(pool.sequence_stats(turn.start.seq).num_processed == turn.start.cached_tokens);
  return turn;
}

Status end_session_turn(SessionStore& store, KvPool& pool, const SessionKey& key,
                        std::vector<int32_t> history) {
  auto info = store.info(key);
  if (!info.ok()) return info.status();
  const int64_t processed = pool.sequence_stats(info->seq).num_processed;
  if (static_cast<int64_t>(history.size()) != processed) {
    return failed_precondition("end_turn: history has " + std::to_string(history.size()) +
                               " tokens but the sequence processed " + std::to_string(processed));
  }
  return store.end_turn(key, std::move(history));
}

Status abort_session_turn(SessionStore& store, KvPool& pool, const SessionKey& key) {
  auto seq = store.abort_turn(key);
  if (!seq.ok()) return seq.status();
  pool.release(*seq);
  return Status::ok_status();
}

Status delete_session(SessionStore& store, KvPool& pool, const SessionKey& key) {
  auto seq = store.remove(key);
  if (!seq.ok()) return seq.status();
  pool.release(*seq);
  return Status::ok_status();
}

int64_t expire_sessions(SessionStore& store, KvPool& pool) {
  const std::vector<SeqId> dropped = store.expire();
  for (SeqId seq : dropped) pool.release(seq);
  return static_cast<int64_t>(dropped.size());
}

}  // namespace trimserve
