#include "scheduler/session_manager.h"

#include <filesystem>
#include <spdlog/spdlog.h>
#include <utility>

#include "common/check.h"
#include "common/logging.h"

namespace trimserve {

namespace {

std::string describe(const SessionKey& key) {
  return "tenant '" + key.tenant + "' session '" + key.session_id + "'";
}

}  // namespace

Result<std::unique_ptr<SessionManager>> SessionManager::create(
    Engine& engine, KvPool& pool, const Clock& clock, const SessionManagerOptions& options) {
  std::unique_ptr<SessionDir> dir;
  if (!options.dir.empty()) {
    auto opened = SessionDir::open(options.dir);
    if (!opened.ok()) return opened.status().with_context("kvpool.sessions.dir");
    dir = std::move(*opened);
  }
  return std::unique_ptr<SessionManager>(
      new SessionManager(engine, pool, clock, options, std::move(dir)));
}

SessionManager::SessionManager(Engine& engine, KvPool& pool, const Clock& clock,
                               const SessionManagerOptions& options,
                               std::unique_ptr<SessionDir> dir)
    : engine_(engine),
      pool_(pool),
      options_(options),
      store_(clock, options.limits),
      dir_(std::move(dir)) {}

void SessionManager::apply(CompactionPlan& plan) {
  if (!plan.empty()) engine_.apply(plan);
  plan.moves.clear();
  plan.freed_pages.clear();
  plan.num_evicted = 0;
}

Result<TurnBegin> SessionManager::begin_turn(const SessionKey& key,
                                             std::span<const int32_t> prompt, SeqId new_seq,
                                             const SequenceKvConfig& kv) {
  TurnBegin out;
  if (dir_ && !prompt.empty() && !store_.info(key).ok()) out.from_disk = load_from_disk(key, new_seq);
  persisted_.erase(key);  // running from here; end_turn writes it again
  auto turn = begin_session_turn(store_, pool_, key, prompt, new_seq, kv);
  if (!turn.ok()) return turn.status();
  apply(turn->plan);
  out.seq = turn->start.seq;
  out.resumed = turn->start.resumed;
  out.cached_tokens = turn->start.cached_tokens;
  return out;
}

bool SessionManager::load_from_disk(const SessionKey& key, SeqId seq) {
  auto loaded = dir_->load(key.tenant, key.session_id, options_.model_fingerprint);
  auto reject = [&](const std::string& why) {
    named_logger("kvpool")->warn("session file for {} rejected, recomputing the turn: {}",
                                 describe(key), why);
    dir_->remove(key.tenant, key.session_id);
    ++disk_rejected_;
    return false;
  };
  if (!loaded.ok()) return reject(loaded.status().message());
  if (!loaded->has_value()) return false;
  const SessionSnapshot& snap = **loaded;
  const KvPoolOptions& po = pool_.options();
  const int64_t head_dim = engine_.model_config().head_dim;
  if (snap.num_layers != po.num_layers || snap.num_kv_heads != po.num_kv_heads ||
      snap.head_dim != head_dim) {
    return reject("its KV shape " + std::to_string(snap.num_layers) + "x" +
                  std::to_string(snap.num_kv_heads) + "x" + std::to_string(snap.head_dim) +
                  " differs from the model's");
  }
  std::vector<LaneEntries> lanes;
  int64_t pages = 0;
  for (const SessionLaneData& lane : snap.lanes) {
    lanes.push_back(LaneEntries{lane.pos, lane.log_beta});
    pages += (static_cast<int64_t>(lane.pos.size()) + po.page_size - 1) / po.page_size;
  }
  // Room from idle memory only: resuming a session must not take entries from running work.
  drop_persisted_until([&] { return pool_.num_free_pages() >= pages; });
  if (pool_.num_free_pages() < pages) {
    ReclaimTarget target;
    target.min_free_pages = pages;
    target.idle_only = true;
    pool_.reclaim(target, store_.clock().now_s(), plan_);
    apply(plan_);
    while (pool_.num_free_pages() < pages) {
      auto dropped = store_.evict_lru_idle(EvictionReason::kGlobalPressure);
      if (!dropped) break;
      pool_.evict_sequence(dropped->seq, EvictionReason::kGlobalPressure);
    }
  }
  if (pool_.num_free_pages() < pages) {
    named_logger("kvpool")->warn(
        "session file for {} needs {} KV pages, {} free: recomputing the turn", describe(key),
        pages, pool_.num_free_pages());
    return false;
  }
  const Status restored = pool_.restore_sequence(seq, snap.kv, snap.num_processed, lanes);
  if (!restored.ok()) return reject(restored.message());
  for (int64_t l = 0; l < po.num_layers; ++l) {
    for (int64_t h = 0; h < po.num_kv_heads; ++h) {
      const SessionLaneData& lane = snap.lanes[static_cast<size_t>(l * po.num_kv_heads + h)];
      if (lane.pos.empty()) continue;
      engine_.write_entries(pool_.lane(seq, l, h), 0, lane.k, lane.v);
    }
  }
  auto added = store_.restore(key, seq, snap.history);
  if (!added.ok()) {
    pool_.release(seq);
    named_logger("kvpool")->warn("session file for {} not loaded: {}", describe(key),
                                 added.status().message());
    return false;
  }
  if (added->has_value()) pool_.evict_sequence(**added, EvictionReason::kSessionLimit);
  pool_.set_idle(seq, store_.clock().now_s());
  ++disk_loads_;
  return true;
}

Status SessionManager::end_turn(const SessionKey& key, std::vector<int32_t> history) {
  TS_RETURN_IF_ERROR(end_session_turn(store_, pool_, key, std::move(history)));
  if (dir_) save_to_disk(key);
  return Status::ok_status();
}

void SessionManager::save_to_disk(const SessionKey& key) {
  auto info = store_.info(key);
  TS_CHECK(info.ok());
  const SeqId seq = info->seq;
  const KvPoolOptions& po = pool_.options();
  SessionSnapshot snap;
  snap.tenant = key.tenant;
  snap.session_id = key.session_id;
  snap.model_fingerprint = options_.model_fingerprint;
  snap.kv = pool_.sequence_config(seq);
  snap.num_processed = pool_.sequence_stats(seq).num_processed;
  const std::span<const int32_t> history = store_.history(key);
  snap.history.assign(history.begin(), history.end());
  snap.num_layers = po.num_layers;
  snap.num_kv_heads = po.num_kv_heads;
  snap.head_dim = engine_.model_config().head_dim;
  for (int64_t l = 0; l < po.num_layers; ++l) {
    for (int64_t h = 0; h < po.num_kv_heads; ++h) {
      SessionLaneData lane;
      lane.pos = pool_.lane_positions(seq, l, h);
      lane.log_beta = pool_.lane_log_beta(seq, l, h);
      const auto n = static_cast<int64_t>(lane.pos.size());
      lane.k.resize(static_cast<size_t>(n * snap.head_dim));
      lane.v.resize(lane.k.size());
      if (n > 0) engine_.read_entries(pool_.lane(seq, l, h), 0, n, lane.k, lane.v);
      snap.lanes.push_back(std::move(lane));
    }
  }
  const Status saved = dir_->save(snap);
  if (!saved.ok()) {
    named_logger("kvpool")->warn("could not persist {} (the session stays in memory): {}",
                                 describe(key), saved.message());
    ++disk_errors_;
    return;
  }
  persisted_.insert(key);
  ++disk_saves_;
}

Status SessionManager::abort_turn(const SessionKey& key) {
  return abort_session_turn(store_, pool_, key);
}

Status SessionManager::remove(const SessionKey& key) {
  const Status in_memory = delete_session(store_, pool_, key);
  if (in_memory.ok()) persisted_.erase(key);
  if (!dir_) return in_memory;
  if (in_memory.code() == ErrorCode::kFailedPrecondition) return in_memory;  // running
  std::error_code ec;
  const bool on_disk = std::filesystem::exists(dir_->path_for(key.tenant, key.session_id), ec);
  dir_->remove(key.tenant, key.session_id);
  if (in_memory.ok() || on_disk) return Status::ok_status();
  return in_memory;
}

void SessionManager::drop_persisted_until(const std::function<bool()>& enough) {
  if (!dir_) return;
  const auto is_persisted = [&](const SessionKey& k) { return persisted_.count(k) != 0; };
  while (!enough()) {
    auto dropped = store_.evict_lru_idle(EvictionReason::kGlobalPressure, is_persisted);
    if (!dropped) return;
    persisted_.erase(dropped->key);
    pool_.evict_sequence(dropped->seq, EvictionReason::kGlobalPressure);
  }
}

Status SessionManager::make_room(SeqId seq, int64_t tokens) {
  return make_room_for([&] { return pool_.pages_needed(seq, tokens); });
}

Status SessionManager::make_room_for(const std::function<int64_t()>& pages_needed) {
  drop_persisted_until([&] { return pool_.num_free_pages() >= pages_needed(); });
  const Status s = trimserve::make_room_for(store_, pool_, pages_needed, plan_);
  apply(plan_);
  return s;
}

int64_t SessionManager::limit_tenant_idle(const std::string& tenant, int64_t max_idle_pages) {
  int64_t held = 0;
  for (SeqId seq : store_.idle_sequences(tenant)) held += pool_.pages_held(seq);
  const auto of_tenant = [&](const SessionKey& k) { return k.tenant == tenant; };
  while (held > max_idle_pages) {
    auto dropped = store_.evict_lru_idle(EvictionReason::kSessionLimit, of_tenant);
    if (!dropped) break;
    persisted_.erase(dropped->key);
    held -= pool_.pages_held(dropped->seq);
    pool_.evict_sequence(dropped->seq, EvictionReason::kSessionLimit);
  }
  return held;
}

void SessionManager::housekeeping() {
  expire_sessions(store_, pool_);
  if (dir_ && options_.limits.ttl_s > 0.0) dir_->expire(options_.limits.ttl_s);
  drop_persisted_until([&] {
    const KvPoolStats st = pool_.stats();
    return st.pages_total - st.pages_used >= options_.idle.min_free_pages &&
           st.pages_idle <= options_.idle.max_idle_pages;
  });
  relieve_idle_memory(store_, pool_, options_.idle, plan_);
  apply(plan_);
}

SessionStats SessionManager::stats() const {
  SessionStats s;
  s.pool = pool_.stats();
  s.sessions = store_.stats();
  if (dir_) {
    s.disk_files = dir_->num_files();
    s.disk_bytes = dir_->bytes_on_disk();
  }
  s.disk_saves = disk_saves_;
  s.disk_loads = disk_loads_;
  s.disk_rejected = disk_rejected_;
  s.disk_errors = disk_errors_;
  return s;
}

}  // namespace trimserve
