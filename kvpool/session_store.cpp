#include "kvpool/session_store.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "common/check.h"

namespace trimserve {

size_t SessionKeyHash::operator()(const SessionKey& key) const {
  const size_t a = std::hash<std::string>{}(key.tenant);
  const size_t b = std::hash<std::string>{}(key.session_id);
  return a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
}

SessionStore::SessionStore(const Clock& clock, const SessionLimits& limits)
    : clock_(clock), limits_(limits) {
  TS_CHECK(limits.max_sessions_per_tenant >= 0 && limits.ttl_s >= 0.0);
}

SessionStore::Session* SessionStore::find(const SessionKey& key) {
  auto t = tenants_.find(key.tenant);
  if (t == tenants_.end()) return nullptr;
  auto s = t->second.find(key.session_id);
  return s == t->second.end() ? nullptr : &s->second;
}

const SessionStore::Session* SessionStore::find(const SessionKey& key) const {
  return const_cast<SessionStore*>(this)->find(key);
}

void SessionStore::erase(const SessionKey& key) {
  auto t = tenants_.find(key.tenant);
  TS_CHECK(t != tenants_.end());
  TS_CHECK(t->second.erase(key.session_id) == 1);
  if (t->second.empty()) tenants_.erase(t);
  --stats_.num_sessions;
}

Result<TurnStart> SessionStore::begin_turn(const SessionKey& key,
                                           std::span<const int32_t> prompt, SeqId new_seq) {
  if (prompt.empty()) return invalid_argument("the prompt is empty");
  TurnStart turn;
  if (Session* s = find(key)) {
    if (s->running) return failed_precondition("session busy: a turn is already running");
    const auto mismatch = std::mismatch(s->history.begin(), s->history.end(), prompt.begin(),
                                        prompt.end());
    const auto common = static_cast<int64_t>(mismatch.first - s->history.begin());
    const auto history_len = static_cast<int64_t>(s->history.size());
    turn.seq = s->seq;
    turn.resumed = true;
    turn.cached_tokens = std::min(common, static_cast<int64_t>(prompt.size()) - 1);
    turn.needs_truncate = turn.cached_tokens < history_len;
    turn.truncate_at = turn.cached_tokens;
    s->history.resize(static_cast<size_t>(turn.cached_tokens));
    s->running = true;
    ++stats_.num_running;
    ++stats_.hits;
    if (s->restored_unused) ++stats_.disk_hits;
    s->restored_unused = false;
    stats_.cached_tokens += turn.cached_tokens;
    return turn;
  }

  // A new session; make room under the tenant's limit first (all-or-nothing).
  auto room = make_room_in_tenant(key.tenant);
  if (!room.ok()) return room.status();
  turn.evicted = *room;
  insert(key, new_seq, {}, /*running=*/true);
  ++stats_.misses;
  turn.seq = new_seq;
  return turn;
}

Result<std::optional<SeqId>> SessionStore::make_room_in_tenant(const std::string& tenant) {
  auto t = tenants_.find(tenant);
  const int64_t limit = limits_.max_sessions_for(tenant);
  const bool at_limit =
      limit > 0 && t != tenants_.end() && static_cast<int64_t>(t->second.size()) >= limit;
  if (!at_limit) return std::optional<SeqId>();
  auto lru = t->second.end();
  for (auto it = t->second.begin(); it != t->second.end(); ++it) {
    if (it->second.running) continue;
    if (lru == t->second.end() || it->second.last_used_tick < lru->second.last_used_tick) lru = it;
  }
  if (lru == t->second.end()) {
    return resource_exhausted("tenant '" + tenant + "' has " + std::to_string(t->second.size()) +
                              " sessions, all running (its session limit is " +
                              std::to_string(limit) + ")");
  }
  const SeqId seq = lru->second.seq;
  t->second.erase(lru);  // the tenant's map stays (the new session joins it)
  --stats_.num_sessions;
  ++stats_.evicted_limit;
  return std::optional<SeqId>(seq);
}

void SessionStore::insert(const SessionKey& key, SeqId seq, std::vector<int32_t> history,
                          bool running) {
  Session s;
  s.seq = seq;
  s.history = std::move(history);
  s.running = running;
  s.last_used_s = clock_.now_s();
  s.last_used_tick = ++tick_;
  TS_CHECK(tenants_[key.tenant].emplace(key.session_id, std::move(s)).second);
  ++stats_.num_sessions;
  if (running) ++stats_.num_running;
}

Status SessionStore::end_turn(const SessionKey& key, std::vector<int32_t> history) {
  Session* s = find(key);
  if (s == nullptr) return not_found("end_turn: no such session");
  if (!s->running) return failed_precondition("end_turn: no turn is running");
  s->history = std::move(history);
  s->running = false;
  s->last_used_s = clock_.now_s();
  s->last_used_tick = ++tick_;
  --stats_.num_running;
  return Status::ok_status();
}

Result<SeqId> SessionStore::abort_turn(const SessionKey& key) {
  Session* s = find(key);
  if (s == nullptr) return not_found("abort_turn: no such session");
  if (!s->running) return failed_precondition("abort_turn: no turn is running");
  const SeqId seq = s->seq;
  --stats_.num_running;
  ++stats_.aborted;
  erase(key);
  return seq;
}

std::vector<SeqId> SessionStore::expire() {
  std::vector<SeqId> dropped;
  if (limits_.ttl_s <= 0.0) return dropped;
  const double now = clock_.now_s();
  for (auto t = tenants_.begin(); t != tenants_.end();) {
    for (auto s = t->second.begin(); s != t->second.end();) {
      if (!s->second.running && now - s->second.last_used_s > limits_.ttl_s) {
        dropped.push_back(s->second.seq);
        s = t->second.erase(s);
        --stats_.num_sessions;
        ++stats_.evicted_expired;
      } else {
        ++s;
      }
    }
    t = t->second.empty() ? tenants_.erase(t) : std::next(t);
  }
  return dropped;
}

std::vector<SeqId> SessionStore::idle_sequences(const std::string& tenant) const {
  std::vector<SeqId> seqs;
  auto t = tenants_.find(tenant);
  if (t == tenants_.end()) return seqs;
  for (const auto& [id, s] : t->second) {
    if (!s.running) seqs.push_back(s.seq);
  }
  return seqs;
}

std::optional<SessionStore::Dropped> SessionStore::evict_lru_idle(
    EvictionReason reason, const std::function<bool(const SessionKey&)>& eligible) {
  const Session* lru = nullptr;
  SessionKey key;
  for (const auto& [tenant, sessions] : tenants_) {
    for (const auto& [id, s] : sessions) {
      if (s.running || (lru != nullptr && s.last_used_tick >= lru->last_used_tick)) continue;
      if (eligible && !eligible(SessionKey{tenant, id})) continue;
      lru = &s;
      key = SessionKey{tenant, id};
    }
  }
  if (lru == nullptr) return std::nullopt;
  Dropped dropped{key, lru->seq};
  erase(key);
  ++(reason == EvictionReason::kSessionLimit ? stats_.evicted_limit : stats_.evicted_pressure);
  return dropped;
}

Result<std::optional<SeqId>> SessionStore::restore(const SessionKey& key, SeqId seq,
                                                   std::vector<int32_t> history) {
  if (find(key) != nullptr) return failed_precondition("restore: the session exists");
  auto room = make_room_in_tenant(key.tenant);
  if (!room.ok()) return room.status();
  insert(key, seq, std::move(history), /*running=*/false);
  find(key)->restored_unused = true;
  ++stats_.restored;
  return *room;
}

Result<SeqId> SessionStore::remove(const SessionKey& key) {
  Session* s = find(key);
  if (s == nullptr) return not_found("session not found");
  if (s->running) return failed_precondition("session busy: a turn is running");
  const SeqId seq = s->seq;
  erase(key);
  ++stats_.evicted_deleted;
  return seq;
}

Result<SessionInfo> SessionStore::info(const SessionKey& key) const {
  const Session* s = find(key);
  if (s == nullptr) return not_found("session not found");
  SessionInfo info;
  info.seq = s->seq;
  info.num_tokens = static_cast<int64_t>(s->history.size());
  info.running = s->running;
  info.idle_s = s->running ? 0.0 : clock_.now_s() - s->last_used_s;
  return info;
}

std::span<const int32_t> SessionStore::history(const SessionKey& key) const {
  const Session* s = find(key);
  if (s == nullptr) return {};
  return s->history;
}

SessionStoreStats SessionStore::stats() const { return stats_; }

}  // namespace trimserve
