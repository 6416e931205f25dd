// SessionStore: the bookkeeping of multi-turn sessions (DESIGN.md §4 "Sessions"), with no
// KvPool calls so it can be tested alone; kvpool/session_pool.h combines it with the pool.
//
// A session is keyed by (tenant, session_id) and owns one pool sequence (SeqId) plus the token
// history whose K/V were appended to that sequence (prompts and fed generated tokens of all
// turns so far). A session is either idle (parked between turns, may expire or be evicted) or
// running (a turn is in flight: begin_turn .. end_turn/abort_turn).
//
// Tenant isolation: every lookup is by the full key, so a tenant can never see, reuse, delete
// or time another tenant's session, even one with the same session_id.
//
// Threading: not thread-safe; the engine-loop thread only. Time comes from the injected Clock,
// which must outlive the store. Complexity: begin/end/abort/remove/info are O(log sessions of
// the tenant + tokens compared); an LRU eviction scans the tenant's sessions; expire() scans all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "kvpool/clock.h"
#include "kvpool/types.h"

namespace trimserve {

struct SessionKey {
  std::string tenant;
  std::string session_id;
  bool operator==(const SessionKey&) const = default;
};

struct SessionKeyHash {
  size_t operator()(const SessionKey& key) const;
};

struct SessionLimits {
  int64_t max_sessions_per_tenant = 0;  // running + idle; 0 = unlimited
  double ttl_s = 0.0;                   // idle sessions unused for longer expire; 0 = never
  // Tenants with a limit of their own (tenants[].limits.max_sessions), in place of
  // max_sessions_per_tenant; 0 = unlimited for that tenant.
  std::map<std::string, int64_t> max_sessions_by_tenant;

  int64_t max_sessions_for(const std::string& tenant) const {
    auto it = max_sessions_by_tenant.find(tenant);
    return it == max_sessions_by_tenant.end() ? max_sessions_per_tenant : it->second;
  }
};

// What begin_turn decided for a turn.
struct TurnStart {
  SeqId seq = 0;              // the session's sequence (new_seq for a new session)
  bool resumed = false;       // an idle session existed and its cache is reused
  int64_t cached_tokens = 0;  // prompt tokens whose K/V are reused; prefill the prompt from here
  bool needs_truncate = false;  // the caller must truncate the sequence at truncate_at first
  int64_t truncate_at = 0;      // always == cached_tokens (spelled out for the caller)
  // A new session pushed the tenant over its limit: this idle session (that tenant's least
  // recently used) was dropped; the caller releases its sequence.
  std::optional<SeqId> evicted;
};

struct SessionInfo {
  SeqId seq = 0;
  int64_t num_tokens = 0;  // history length
  double idle_s = 0.0;     // since the last end_turn (0 while running)
  bool running = false;
};

struct SessionStoreStats {
  int64_t num_sessions = 0;
  int64_t num_running = 0;
  int64_t hits = 0;    // begin_turn found an idle session
  int64_t disk_hits = 0;  // of hits: the session had been restored from disk for this turn
  int64_t misses = 0;  // begin_turn created a session
  int64_t cached_tokens = 0;  // sum of TurnStart::cached_tokens
  int64_t aborted = 0;
  int64_t restored = 0;  // sessions re-created from disk (restore())
  int64_t evicted_expired = 0;   // session_expired
  int64_t evicted_deleted = 0;   // session_deleted
  int64_t evicted_limit = 0;     // session_limit: LRU idle session dropped for the tenant's
                                 // session count or the idle-memory cap
  int64_t evicted_pressure = 0;  // global_pressure: the LRU idle session freed its pages
};

class SessionStore {
 public:
  SessionStore(const Clock& clock, const SessionLimits& limits);

  // Starts a turn whose full prompt (the whole conversation so far, as the model sees it) is
  // `prompt`. For an idle session with history H: P = longest common prefix of H and prompt;
  // the cache is reused for cached_tokens = min(P, |prompt| - 1) tokens (at least one prompt
  // token is prefilled to produce logits); if that is shorter than H the caller must truncate
  // the sequence at cached_tokens (rollback). Without a session, one is created owning
  // `new_seq` (which the caller must have registered nowhere else; unused otherwise), possibly
  // evicting the tenant's LRU idle session (TurnStart::evicted). The session is running until
  // end_turn or abort_turn.
  // Errors: empty prompt (kInvalidArgument); the session is running (kFailedPrecondition,
  // "session busy"); a new session while the tenant is at its limit with no idle session
  // (kResourceExhausted). On error nothing changed.
  Result<TurnStart> begin_turn(const SessionKey& key, std::span<const int32_t> prompt,
                               SeqId new_seq);

  // Parks a running session as idle with `history` = every token whose K/V its sequence now
  // holds, last used now. Errors: unknown key (kNotFound); not running (kFailedPrecondition).
  Status end_turn(const SessionKey& key, std::vector<int32_t> history);

  // The running turn failed: the session is dropped; returns its sequence for the caller to
  // release. Errors: unknown key (kNotFound); not running (kFailedPrecondition).
  Result<SeqId> abort_turn(const SessionKey& key);

  // Drops idle sessions unused for more than ttl_s; returns their sequences to release.
  std::vector<SeqId> expire();

  // Memory pressure: drops the least recently used idle session of any tenant (among those
  // `eligible` accepts, when given) and returns its key and sequence for the caller to
  // release; nullopt when there is none. Counted as evicted_limit for
  // EvictionReason::kSessionLimit, else as evicted_pressure.
  struct Dropped {
    SessionKey key;
    SeqId seq;
  };
  std::optional<Dropped> evict_lru_idle(
      EvictionReason reason, const std::function<bool(const SessionKey&)>& eligible = {});

  // Re-creates an idle session that was persisted (kvpool.sessions.dir) with `history` and the
  // sequence `seq` the caller restored in the pool, last used now. Like a new session it may
  // push the tenant over its limit (then the tenant's LRU idle session is dropped and its
  // sequence returned). Errors: the key exists (kFailedPrecondition); the tenant is at its
  // limit with every session running (kResourceExhausted). On error nothing changed.
  Result<std::optional<SeqId>> restore(const SessionKey& key, SeqId seq,
                                       std::vector<int32_t> history);

  // Explicit delete of an idle session; returns its sequence to release. Errors: unknown key,
  // including another tenant's session id (kNotFound); running (kFailedPrecondition).
  Result<SeqId> remove(const SessionKey& key);

  // Errors: unknown key (kNotFound).
  Result<SessionInfo> info(const SessionKey& key) const;

  // The sequences of `tenant`'s idle sessions (for its KV share), in no particular order.
  std::vector<SeqId> idle_sequences(const std::string& tenant) const;

  // The history of a session (empty for an unknown key). Valid until the next mutating call.
  std::span<const int32_t> history(const SessionKey& key) const;

  SessionStoreStats stats() const;
  const SessionLimits& limits() const { return limits_; }
  const Clock& clock() const { return clock_; }

 private:
  struct Session {
    SeqId seq = 0;
    std::vector<int32_t> history;
    double last_used_s = 0.0;
    uint64_t last_used_tick = 0;  // breaks last_used_s ties (the clock may stand still)
    bool running = false;
    bool restored_unused = false;  // restored from disk, no turn since
  };
  using Tenant = std::map<std::string, Session>;  // session_id -> session

  Session* find(const SessionKey& key);
  const Session* find(const SessionKey& key) const;
  void erase(const SessionKey& key);
  // Makes room for one more session of `tenant` under its limit: drops its LRU idle session
  // (returned) when at the limit. kResourceExhausted when every session of it is running.
  Result<std::optional<SeqId>> make_room_in_tenant(const std::string& tenant);
  // Inserts a session last used now.
  void insert(const SessionKey& key, SeqId seq, std::vector<int32_t> history, bool running);

  const Clock& clock_;
  SessionLimits limits_;
  std::map<std::string, Tenant> tenants_;
  uint64_t tick_ = 0;
  SessionStoreStats stats_;
};

}  // namespace trimserve
