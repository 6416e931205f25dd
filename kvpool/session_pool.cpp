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
  if (turn.start.evicted) pool.evict_sequence(*turn.start.evicted, EvictionReason::kSessionLimit);
  if (!turn.start.resumed) {
    const Status added = pool.add_sequence(turn.start.seq, kv);
    if (!added.ok()) {
      TS_CHECK(store.abort_turn(key).ok());
      return added;
    }
    return turn;
  }
  TS_CHECK_MSG(pool.has_sequence(turn.start.seq), "an idle session lost its sequence");
  pool.set_running(turn.start.seq);
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
  TS_RETURN_IF_ERROR(store.end_turn(key, std::move(history)));
  pool.set_idle(info->seq, store.clock().now_s());
  return Status::ok_status();
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
  pool.evict_sequence(*seq, EvictionReason::kSessionDeleted);
  return Status::ok_status();
}

int64_t expire_sessions(SessionStore& store, KvPool& pool) {
  const std::vector<SeqId> dropped = store.expire();
  for (SeqId seq : dropped) pool.evict_sequence(seq, EvictionReason::kSessionExpired);
  return static_cast<int64_t>(dropped.size());
}

Status make_room_for(SessionStore& store, KvPool& pool,
                     const std::function<int64_t()>& pages_needed, CompactionPlan& plan) {
  auto fits = [&] { return pool.num_free_pages() >= pages_needed(); };
  while (!fits()) {
    ReclaimTarget target;
    target.min_free_pages = pages_needed();
    if (pool.reclaim(target, store.clock().now_s(), plan) == 0) break;
  }
  while (!fits()) {
    auto dropped = store.evict_lru_idle(EvictionReason::kGlobalPressure);
    if (!dropped) break;
    pool.evict_sequence(dropped->seq, EvictionReason::kGlobalPressure);
  }
  if (fits()) return Status::ok_status();
  return resource_exhausted("KV pool cannot fit: " + std::to_string(pages_needed()) +
                            " pages needed, " + std::to_string(pool.num_free_pages()) +
                            " free of " + std::to_string(pool.options().num_pages) +
                            " after evicting every unprotected entry and idle session");
}

Status make_room(SessionStore& store, KvPool& pool, SeqId seq, int64_t tokens,
                 CompactionPlan& plan) {
  const Status s =
      make_room_for(store, pool, [&] { return pool.pages_needed(seq, tokens); }, plan);
  if (s.ok()) return s;
  return resource_exhausted("sequence " + std::to_string(seq) + ": " + s.message());
}

int64_t relieve_idle_memory(SessionStore& store, KvPool& pool, const IdleMemoryLimits& limits,
                            CompactionPlan& plan) {
  const double now = store.clock().now_s();
  ReclaimTarget watermark;
  watermark.min_free_pages = limits.min_free_pages;
  watermark.idle_only = true;
  int64_t evicted = pool.reclaim(watermark, now, plan);
  ReclaimTarget cap;
  cap.max_idle_pages = limits.max_idle_pages;
  cap.idle_only = true;
  cap.reason = EvictionReason::kSessionLimit;
  evicted += pool.reclaim(cap, now, plan);
  while (pool.stats().pages_idle > limits.max_idle_pages) {
    auto dropped = store.evict_lru_idle(EvictionReason::kSessionLimit);
    if (!dropped) break;
    evicted += pool.sequence_stats(dropped->seq).retained;
    pool.evict_sequence(dropped->seq, EvictionReason::kSessionLimit);
  }
  return evicted;
}

}  // namespace trimserve
