// SessionManager: multi-turn sessions over one Engine and its KvPool (DESIGN.md §4
// "Sessions"), with optional persistence to kvpool.sessions.dir. It is kvpool/session_pool.h's
// glue plus what needs the engine: applying every plan to K/V storage at once, and moving K/V
// rows between storage and session files.
//
// Persistence is write-through: end_turn saves the parked session atomically, so a session
// dropped from memory (global pressure, idle limits) or lost with the process (restart,
// kill -9) resumes from its file on its next turn instead of being recomputed. A file that is
// corrupt, foreign (another model or tenant) or does not fit the pool is logged, removed, and
// the turn recomputes.
//
// With persistence, memory pressure drops idle sessions whose file is current (least recently
// used first) before it shaves any entry: such a session comes back from its file exactly as
// it was, while shaved entries are gone for good. This refines DESIGN.md §4's order (entries
// first, then whole idle sessions), which remains the order without a directory and for
// sessions whose last write failed. I/O errors (directory full, read-only) are logged and counted; turns are
// served all the same. Deleting a session deletes its file; TTL expiry applies to files too.
//
// Threading: the engine-loop thread only (Engine, KvPool and SessionStore are single-owner).
// Every plan produced here has been applied to the engine before a call returns.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "engine/engine.h"
#include "kvpool/kv_pool.h"
#include "kvpool/session_dir.h"
#include "kvpool/session_pool.h"
#include "kvpool/session_store.h"

namespace trimserve {

struct SessionManagerOptions {
  SessionLimits limits;         // per-tenant count, TTL
  IdleMemoryLimits idle;        // low watermark and idle-pages cap, applied by housekeeping()
  std::string dir;              // "" = memory only
  std::string model_fingerprint;  // stamped into files; files with another are foreign
};

// Everything the metrics need about KV memory and sessions.
struct SessionStats {
  KvPoolStats pool;
  SessionStoreStats sessions;
  int64_t disk_files = 0;
  int64_t disk_bytes = 0;
  int64_t disk_saves = 0;
  int64_t disk_loads = 0;     // turns resumed from a file
  int64_t disk_rejected = 0;  // corrupt / foreign / unloadable files removed
  int64_t disk_errors = 0;    // failed writes (the turn was served anyway)
};

struct TurnBegin {
  SeqId seq = 0;
  bool resumed = false;       // an existing session's cache is reused (memory or disk)
  bool from_disk = false;     // ... loaded from its file for this turn
  int64_t cached_tokens = 0;  // prefill the prompt from here
};

class SessionManager {
 public:
  // Opens the directory when options.dir is set. Errors: the directory cannot be created or
  // read (SessionDir::open's message, prefixed "kvpool.sessions.dir").
  static Result<std::unique_ptr<SessionManager>> create(Engine& engine, KvPool& pool,
                                                        const Clock& clock,
                                                        const SessionManagerOptions& options);

  // Starts a turn whose whole prompt is `prompt` (see SessionStore::begin_turn). A session in
  // memory is resumed (rollback applied). Otherwise, with a directory, its file is loaded
  // into the pool — making room as for a step, but never dropping running work — and resumed;
  // else a new session owning `new_seq` with `kv` is created. Errors: the store's (busy
  // session, tenant full of running sessions, empty prompt), the pool's (invalid kv).
  Result<TurnBegin> begin_turn(const SessionKey& key, std::span<const int32_t> prompt,
                               SeqId new_seq, const SequenceKvConfig& kv);

  // Parks the session and, with a directory, writes it out. Errors: end_session_turn's.
  Status end_turn(const SessionKey& key, std::vector<int32_t> history);

  // Drops a failed turn's session (its file, an earlier turn's state, stays valid).
  Status abort_turn(const SessionKey& key);

  // Deletes the session from memory and disk. kNotFound when neither holds it; running
  // sessions cannot be deleted (kFailedPrecondition).
  Status remove(const SessionKey& key);

  // Room for `tokens` more entries per lane of the running `seq`: file-backed idle sessions
  // first (see above), then kvpool's make_room.
  Status make_room(SeqId seq, int64_t tokens);
  // The same for a whole step (kvpool's make_room_for): call before reserving any sequence.
  Status make_room_for(const std::function<int64_t()>& pages_needed);

  // A tenant's KV share (tenants[].limits.kv_share): drops `tenant`'s least recently used idle
  // sessions until they hold at most `max_idle_pages` pages. Returns the pages they hold now.
  int64_t limit_tenant_idle(const std::string& tenant, int64_t max_idle_pages);

  // Between steps: TTL expiry (memory and files) and idle-memory relief.
  void housekeeping();

  SessionStats stats() const;
  const SessionStore& store() const { return store_; }

 private:
  SessionManager(Engine& engine, KvPool& pool, const Clock& clock,
                 const SessionManagerOptions& options, std::unique_ptr<SessionDir> dir);

  // Restores the key's file into the pool as an idle session owning `seq`. Returns false when
  // there is no usable file (a bad one is logged and removed).
  bool load_from_disk(const SessionKey& key, SeqId seq);
  void save_to_disk(const SessionKey& key);
  void apply(CompactionPlan& plan);
  // Drops idle sessions whose file is current, least recently used first, until `enough()`.
  void drop_persisted_until(const std::function<bool()>& enough);

  Engine& engine_;
  KvPool& pool_;
  SessionManagerOptions options_;
  SessionStore store_;
  std::unique_ptr<SessionDir> dir_;
  // Idle sessions whose file holds exactly their state (saved at their last end_turn).
  std::unordered_set<SessionKey, SessionKeyHash> persisted_;
  CompactionPlan plan_;  // reused scratch
  int64_t disk_saves_ = 0, disk_loads_ = 0, disk_rejected_ = 0, disk_errors_ = 0;
};

}  // namespace trimserve
