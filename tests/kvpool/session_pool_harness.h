// The brute-force model of KvPool + SessionStore (through kvpool/session_pool.h) and the
// harness that drives both side by side, for session_pool_brute_force_test.cpp: every action
// runs on the real objects and on the model, and verify() compares lane contents, a fake
// engine storage, page counts, budgets, counters by reason, session stats and tenant
// isolation. Deliberately naive: rankings are full sorts spelled out here, independent of
// kvpool's heap-based reclaim.
#pragma once

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "kvpool/kv_pool.h"
#include "kvpool/session_pool.h"
#include "kvpool/session_store.h"
#include "tests/kvpool/brute_force_model.h"
#include "tests/support/fake_clock.h"

namespace trimserve::kvpool_test {

using trimserve::testing::FakeClock;

inline const char* const kTenants[] = {"acme", "globex", "initech"};
inline const char* const kSessionIds[] = {"s0", "s1", "s2"};

struct ModelSession {
  SeqId seq = 0;
  std::vector<int32_t> history;  // idle: what the sequence processed; running: the fed tokens
  std::vector<int32_t> pending;  // running: prompt tokens not fed yet
  bool running = false;
  double last_used = 0.0;
  uint64_t tick = 0;
};

struct PoolSeq {
  ModelSeq m;
  bool idle = false;
  double idle_since = 0.0;
};

// Which paths the random runs reached (a run that silently stopped reaching one fails).
struct SessionCoverage {
  int64_t resumed = 0, rolled_back = 0, reclaimed = 0, reclaimed_idle_decayed = 0;
  int64_t dropped_pressure = 0, cannot_fit = 0, expired = 0, deleted = 0, limit_drops = 0;
  int64_t idle_relief = 0, isolation_checks = 0;
};
inline SessionCoverage g_cov;

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

inline bool ranks_by_score(KvPolicy p) { return p == KvPolicy::kTrimKv || p == KvPolicy::kTrimKvGlobal; }

class Harness {
 public:
  explicit Harness(uint64_t seed) : rng_(seed) {
    static const int64_t kPageSizes[] = {1, 2, 4};
    layers_ = uniform(1, 2);
    heads_ = uniform(1, 2);
    b_ = kPageSizes[uniform(0, 2)];
    KvPoolOptions o;
    o.num_layers = layers_;
    o.num_kv_heads = heads_;
    o.page_size = b_;
    o.num_pages = num_lanes() * uniform(3, 14);
    static const double kDecay[] = {0.0, 0.01, 0.5};
    o.idle_decay_per_s = kDecay[uniform(0, 2)];
    o.protected_sinks = uniform(0, 2);
    o.protected_recent = uniform(0, 3);
    options_ = o;
    pool_ = std::move(KvPool::create(o)).value();
    storage_.assign(static_cast<size_t>(o.num_pages * b_), -1);
    SessionLimits limits;
    limits.max_sessions_per_tenant = uniform(0, 3);
    limits.ttl_s = chance(0.5) ? 0.0 : static_cast<double>(uniform(20, 80));
    limits_ = limits;
    store_ = std::make_unique<SessionStore>(clock_, limits);
  }

  int64_t uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  int64_t num_lanes() const { return layers_ * heads_; }
  const std::map<std::pair<std::string, std::string>, ModelSession>& sessions() const {
    return sessions_;
  }

  // ---- actions -------------------------------------------------------------------------

  void begin(const std::string& tenant, const std::string& sid) {
    const SessionKey key{tenant, sid};
    const auto mk = std::make_pair(tenant, sid);
    auto it = sessions_.find(mk);
    std::vector<int32_t> prompt;
    if (it != sessions_.end() && !it->second.running) {
      const auto& h = it->second.history;
      const auto keep = chance(0.6) ? static_cast<int64_t>(h.size())
                                    : uniform(0, static_cast<int64_t>(h.size()));
      prompt.assign(h.begin(), h.begin() + keep);
    }
    const int64_t extra = uniform(prompt.empty() ? 1 : 0, 14);
    for (int64_t i = 0; i < extra; ++i) prompt.push_back(static_cast<int32_t>(uniform(0, 4)));
    if (prompt.empty()) prompt.push_back(1);
    const SequenceKvConfig kv = random_config();
    const SeqId new_seq = next_seq_++;

    auto turn = begin_session_turn(*store_, *pool_, key, prompt, new_seq, kv);
    if (it != sessions_.end() && it->second.running) {
      REQUIRE(turn.status().code() == ErrorCode::kFailedPrecondition);
      return;
    }
    if (it != sessions_.end()) {  // resume an idle session
      REQUIRE(turn.ok());
      ModelSession& s = it->second;
      const auto mismatch = std::mismatch(s.history.begin(), s.history.end(), prompt.begin(),
                                          prompt.end());
      const int64_t common = mismatch.first - s.history.begin();
      const int64_t cached = std::min(common, static_cast<int64_t>(prompt.size()) - 1);
      REQUIRE(turn->start.resumed);
      REQUIRE(turn->start.seq == s.seq);
      REQUIRE(turn->start.cached_tokens == cached);
      PoolSeq& ps = seqs_.at(s.seq);
      if (cached < static_cast<int64_t>(s.history.size())) {
        ++g_cov.rolled_back;
        for (auto& lane : ps.m.lanes) {
          std::erase_if(lane, [&](const ModelEntry& e) { return e.pos >= cached; });
        }
      }
      ps.m.processed = cached;
      ps.idle = false;
      apply(turn->plan);
      s.history.resize(static_cast<size_t>(cached));
      s.pending.assign(prompt.begin() + cached, prompt.end());
      s.running = true;
      ++hits_;
      cached_tokens_ += cached;
      ++g_cov.resumed;
      return;
    }
    // A new session, possibly dropping the tenant's least recently used idle one.
    std::optional<std::pair<std::string, std::string>> lru;
    int64_t count = 0;
    for (const auto& [k, s] : sessions_) {
      if (k.first != tenant) continue;
      ++count;
      if (!s.running && (!lru || s.tick < sessions_.at(*lru).tick)) lru = k;
    }
    if (limits_.max_sessions_per_tenant > 0 && count >= limits_.max_sessions_per_tenant) {
      if (!lru) {
        REQUIRE(turn.status().code() == ErrorCode::kResourceExhausted);
        return;
      }
      REQUIRE(turn.ok());
      REQUIRE(turn->start.evicted == sessions_.at(*lru).seq);
      drop_session(*lru, EvictionReason::kSessionLimit);
      ++limit_drops_;
      ++g_cov.limit_drops;
    }
    REQUIRE(turn.ok());
    REQUIRE(!turn->start.resumed);
    REQUIRE(turn->start.cached_tokens == 0);
    PoolSeq ps;
    ps.m.config = kv;
    ps.m.lanes.resize(static_cast<size_t>(num_lanes()));
    seqs_.emplace(new_seq, std::move(ps));
    ModelSession s;
    s.seq = new_seq;
    s.pending = prompt;
    s.running = true;
    s.last_used = clock_.now_s();
    s.tick = ++tick_;
    sessions_.emplace(mk, std::move(s));
    ++misses_;
  }

  // One engine step of a running session: a piece of its prompt, or one decoded token.
  void step(const std::pair<std::string, std::string>& mk) {
    ModelSession& s = sessions_.at(mk);
    PoolSeq& ps = seqs_.at(s.seq);
    const int64_t t = s.pending.empty()
                          ? 1
                          : std::min<int64_t>(static_cast<int64_t>(s.pending.size()), uniform(1, 6));
    std::vector<int32_t> tokens;
    if (s.pending.empty()) {
      tokens.push_back(static_cast<int32_t>(uniform(0, 4)));
    } else {
      tokens.assign(s.pending.begin(), s.pending.begin() + t);
    }
    CompactionPlan plan;
    const Status room = make_room(*store_, *pool_, s.seq, t, plan);
    const bool fits = model_make_room(ps, t);
    apply(plan);
    if (!fits) {
      REQUIRE(room.code() == ErrorCode::kResourceExhausted);
      ++g_cov.cannot_fit;
      abort(mk);  // the scheduler would preempt; here the turn fails
      return;
    }
    REQUIRE(room.ok());
    REQUIRE(pool_->reserve(s.seq, t).ok());
    std::vector<int32_t> positions(static_cast<size_t>(t));
    std::vector<float> log_beta(static_cast<size_t>(t * num_lanes()));
    for (int64_t i = 0; i < t; ++i) {
      positions[static_cast<size_t>(i)] = static_cast<int32_t>(ps.m.processed + i);
    }
    for (int64_t l = 0; l < num_lanes(); ++l) {
      const LaneView v = pool_->lane(s.seq, l / heads_, l % heads_);
      auto& lane = ps.m.lanes[static_cast<size_t>(l)];
      REQUIRE(v.len == static_cast<int64_t>(lane.size()));
      for (int64_t i = 0; i < t; ++i) {
        static const float kBeta[] = {-0.05f, -0.1f, -0.5f, -1.0f, -2.0f};
        const float lb = chance(0.5) ? kBeta[uniform(0, 4)]
                                     : -std::uniform_real_distribution<float>(0.0f, 2.0f)(rng_);
        log_beta[static_cast<size_t>(i * num_lanes() + l)] = lb;
        const ModelEntry e{positions[static_cast<size_t>(i)], lb, next_entry_++};
        const int64_t idx = v.len + i;
        slot(v.pages[idx / b_], idx % b_) = e.id;
        lane.push_back(e);
      }
    }
    pool_->append(s.seq, positions, log_beta);
    ps.m.processed += t;
    ps.m.offered += t * num_lanes();
    CompactionPlan compress_plan;
    pool_->compress(s.seq, compress_plan);
    const auto [due, evicted] = brute_compress(ps.m, heads_);
    if (due) ++ps.m.compressions;
    REQUIRE(compress_plan.num_evicted == evicted);
    evicted_[EvictionReason::kBudget] += evicted;
    apply(compress_plan);
    s.history.insert(s.history.end(), tokens.begin(), tokens.end());
    if (!s.pending.empty()) s.pending.erase(s.pending.begin(), s.pending.begin() + t);
  }

  void end(const std::pair<std::string, std::string>& mk) {
    ModelSession& s = sessions_.at(mk);
    const SessionKey key{mk.first, mk.second};
    if (chance(0.1)) {  // a history that does not match what was processed is refused
      std::vector<int32_t> wrong = s.history;
      wrong.push_back(0);
      REQUIRE(end_session_turn(*store_, *pool_, key, wrong).code() ==
              ErrorCode::kFailedPrecondition);
    }
    REQUIRE(end_session_turn(*store_, *pool_, key, s.history).ok());
    s.running = false;
    s.last_used = clock_.now_s();
    s.tick = ++tick_;
    PoolSeq& ps = seqs_.at(s.seq);
    ps.idle = true;
    ps.idle_since = clock_.now_s();
  }

  void abort(const std::pair<std::string, std::string>& mk) {
    REQUIRE(abort_session_turn(*store_, *pool_, SessionKey{mk.first, mk.second}).ok());
    release_model(sessions_.at(mk).seq);
    sessions_.erase(mk);
    ++aborted_;
  }

  void remove(const std::string& tenant, const std::string& sid) {
    const auto mk = std::make_pair(tenant, sid);
    const Status st = delete_session(*store_, *pool_, SessionKey{tenant, sid});
    auto it = sessions_.find(mk);
    if (it == sessions_.end()) {
      REQUIRE(st.code() == ErrorCode::kNotFound);
    } else if (it->second.running) {
      REQUIRE(st.code() == ErrorCode::kFailedPrecondition);
    } else {
      REQUIRE(st.ok());
      drop_session(mk, EvictionReason::kSessionDeleted);
      ++deleted_;
      ++g_cov.deleted;
    }
  }

  void advance_and_expire() {
    clock_.advance(static_cast<double>(uniform(0, 40)));
    if (!chance(0.5)) return;
    const int64_t n = expire_sessions(*store_, *pool_);
    int64_t want = 0;
    if (limits_.ttl_s > 0.0) {
      std::vector<std::pair<std::string, std::string>> expired;
      for (const auto& [k, s] : sessions_) {
        if (!s.running && clock_.now_s() - s.last_used > limits_.ttl_s) expired.push_back(k);
      }
      for (const auto& k : expired) drop_session(k, EvictionReason::kSessionExpired);
      want = static_cast<int64_t>(expired.size());
    }
    REQUIRE(n == want);
    expired_ += n;
    g_cov.expired += n;
  }

  void relieve() {
    IdleMemoryLimits limits;
    limits.min_free_pages = uniform(0, options_.num_pages / 2);
    if (chance(0.6)) limits.max_idle_pages = uniform(0, options_.num_pages / 2);
    CompactionPlan plan;
    relieve_idle_memory(*store_, *pool_, limits, plan);
    apply(plan);
    ReclaimTarget watermark;
    watermark.min_free_pages = limits.min_free_pages;
    watermark.idle_only = true;
    model_reclaim(watermark);
    ReclaimTarget cap;
    cap.max_idle_pages = limits.max_idle_pages;
    cap.idle_only = true;
    cap.reason = EvictionReason::kSessionLimit;
    model_reclaim(cap);
    while (idle_pages() > limits.max_idle_pages) {
      auto lru = lru_idle();
      if (!lru) break;
      drop_session(*lru, EvictionReason::kSessionLimit);
      ++limit_drops_;
    }
    ++g_cov.idle_relief;
  }

  // Drops every session; the pool must end empty.
  void drain() {
    while (!sessions_.empty()) {
      const auto mk = sessions_.begin()->first;
      if (sessions_.begin()->second.running) {
        abort(mk);
      } else {
        remove(mk.first, mk.second);
      }
    }
    verify();
    REQUIRE(pool_->stats().pages_used == 0);
    REQUIRE(pool_->stats().num_sequences == 0);
  }

  // ---- checks --------------------------------------------------------------------------

  void verify() {
    int64_t pages = 0;
    for (const auto& [id, ps] : seqs_) {
      int64_t retained = 0;
      for (int64_t l = 0; l < num_lanes(); ++l) {
        const LaneView v = pool_->lane(id, l / heads_, l % heads_);
        const auto& lane = ps.m.lanes[static_cast<size_t>(l)];
        INFO("seq " << id << " lane " << l);
        REQUIRE(v.len == static_cast<int64_t>(lane.size()));
        REQUIRE(v.num_pages == ceil_div(v.len, b_));
        pages += v.num_pages;
        retained += v.len;
        const auto pos = pool_->lane_positions(id, l / heads_, l % heads_);
        const auto lb = pool_->lane_log_beta(id, l / heads_, l % heads_);
        for (size_t i = 0; i < lane.size(); ++i) {
          REQUIRE(pos[i] == lane[i].pos);
          REQUIRE(lb[i] == lane[i].log_beta);
          const auto idx = static_cast<int64_t>(i);
          REQUIRE(slot(v.pages[idx / b_], idx % b_) == lane[i].id);
        }
      }
      const SequenceKvStats st = pool_->sequence_stats(id);
      REQUIRE(st.retained == retained);
      REQUIRE(st.num_processed == ps.m.processed);
      REQUIRE(st.offered == ps.m.offered);
      REQUIRE(pool_->is_idle(id) == ps.idle);
      require_budgets(ps.m, num_lanes(), /*due=*/false);
    }
    const KvPoolStats st = pool_->stats();
    REQUIRE(st.pages_used == pages);
    REQUIRE(st.num_sequences == static_cast<int64_t>(seqs_.size()));
    REQUIRE(st.pages_idle == idle_pages());
    for (int r = 0; r < kNumEvictionReasons; ++r) {
      INFO("reason " << eviction_reason_name(static_cast<EvictionReason>(r)));
      REQUIRE(st.evicted[static_cast<size_t>(r)] == evicted_[static_cast<EvictionReason>(r)]);
    }
    const Status inv = pool_->check_invariants();
    INFO(inv.to_string());
    REQUIRE(inv.ok());

    const SessionStoreStats ss = store_->stats();
    REQUIRE(ss.num_sessions == static_cast<int64_t>(sessions_.size()));
    REQUIRE(ss.hits == hits_);
    REQUIRE(ss.misses == misses_);
    REQUIRE(ss.cached_tokens == cached_tokens_);
    REQUIRE(ss.aborted == aborted_);
    REQUIRE(ss.evicted_pressure == pressure_drops_);
    REQUIRE(ss.evicted_limit == limit_drops_);
    REQUIRE(ss.evicted_expired == expired_);
    REQUIRE(ss.evicted_deleted == deleted_);
    // Isolation: every (tenant, id) sees its own session or none, never another tenant's.
    for (const char* tenant : kTenants) {
      for (const char* sid : kSessionIds) {
        const SessionKey key{tenant, sid};
        auto it = sessions_.find({tenant, sid});
        auto info = store_->info(key);
        ++g_cov.isolation_checks;
        if (it == sessions_.end()) {
          REQUIRE(info.status().code() == ErrorCode::kNotFound);
          REQUIRE(store_->history(key).empty());
          continue;
        }
        REQUIRE(info.ok());
        REQUIRE(info->seq == it->second.seq);
        REQUIRE(info->running == it->second.running);
        if (!it->second.running) {
          const auto h = store_->history(key);
          REQUIRE(std::vector<int32_t>(h.begin(), h.end()) == it->second.history);
        }
      }
    }
  }

 private:
  SequenceKvConfig random_config() {
    SequenceKvConfig c;
    c.policy = static_cast<KvPolicy>(uniform(0, 3));
    c.budget = uniform(1, 8);
    c.buffer = chance(0.3) ? 0 : uniform(1, 4);
    c.window_sinks = uniform(0, c.budget - 1);
    c.floor_ratio = chance(0.5) ? 0.0 : 0.25;
    return c;
  }

  // What make_room must do: global reclaim (again while it evicts something, as taking the
  // stepping sequence's own entries can change its need), then LRU idle sessions, then
  // "cannot fit".
  bool model_make_room(const PoolSeq& stepping, int64_t t) {
    auto need = [&] {
      int64_t n = 0;
      for (const auto& lane : stepping.m.lanes) {
        const auto len = static_cast<int64_t>(lane.size());
        n += ceil_div(len + t, b_) - ceil_div(len, b_);
      }
      return n;
    };
    while (free_pages() < need()) {
      ReclaimTarget target;
      target.min_free_pages = need();
      if (model_reclaim(target) == 0) break;
    }
    while (free_pages() < need()) {
      auto lru = lru_idle();
      if (!lru) break;
      drop_session(*lru, EvictionReason::kGlobalPressure);
      ++pressure_drops_;
      ++g_cov.dropped_pressure;
    }
    return free_pages() >= need();
  }

  // Brute-force reclaim: every candidate ranked by one full sort, removed lowest first until
  // the target holds (pages are ceil(len / B) per lane).
  int64_t model_reclaim(const ReclaimTarget& target) {
    auto reached = [&] {
      return free_pages() >= target.min_free_pages && idle_pages() <= target.max_idle_pages;
    };
    if (reached()) return 0;
    // Keep-key: larger is kept; the victim order is ascending.
    using Key = std::tuple<double, int32_t, int64_t, int64_t, int64_t>;
    struct Cand {
      Key key;
      SeqId seq;
      size_t lane;
      int64_t id;
    };
    std::vector<Cand> cands;
    for (const auto& [id, ps] : seqs_) {
      if (!ranks_by_score(ps.m.config.policy) || (target.idle_only && !ps.idle)) continue;
      const int64_t q = ps.m.processed + 1;
      const double decay =
          ps.idle ? options_.idle_decay_per_s * std::max(0.0, clock_.now_s() - ps.idle_since)
                  : 0.0;
      for (size_t l = 0; l < ps.m.lanes.size(); ++l) {
        const auto& lane = ps.m.lanes[l];
        const auto len = static_cast<int64_t>(lane.size());
        for (int64_t i = 0; i < len; ++i) {
          const ModelEntry& e = lane[static_cast<size_t>(i)];
          if (!ps.idle &&
              (e.pos < options_.protected_sinks || i >= len - options_.protected_recent)) {
            continue;
          }
          const double score = static_cast<double>(q - e.pos) * static_cast<double>(e.log_beta);
          cands.push_back({Key{score - decay, e.pos, -static_cast<int64_t>(id),
                               -static_cast<int64_t>(l), i},
                           id, l, e.id});
          if (decay > 0.0) ++g_cov.reclaimed_idle_decayed;
        }
      }
    }
    std::sort(cands.begin(), cands.end(),
              [](const Cand& a, const Cand& b) { return a.key < b.key; });
    int64_t n = 0;
    for (const Cand& c : cands) {
      if (reached()) break;
      auto& lane = seqs_.at(c.seq).m.lanes[c.lane];
      std::erase_if(lane, [&](const ModelEntry& e) { return e.id == c.id; });
      ++n;
    }
    evicted_[target.reason] += n;
    g_cov.reclaimed += n;
    return n;
  }

  std::optional<std::pair<std::string, std::string>> lru_idle() const {
    std::optional<std::pair<std::string, std::string>> lru;
    for (const auto& [k, s] : sessions_) {
      if (!s.running && (!lru || s.tick < sessions_.at(*lru).tick)) lru = k;
    }
    return lru;
  }

  void drop_session(const std::pair<std::string, std::string>& mk, EvictionReason reason) {
    const SeqId seq = sessions_.at(mk).seq;
    for (const auto& lane : seqs_.at(seq).m.lanes) {
      evicted_[reason] += static_cast<int64_t>(lane.size());
    }
    release_model(seq);
    sessions_.erase(mk);
  }

  void release_model(SeqId seq) {
    seqs_.erase(seq);
    // The fake storage of its pages is stale now; the pool hands them out again and every
    // later write goes through a lane view first.
  }

  int64_t pages_of(const PoolSeq& ps) const {
    int64_t p = 0;
    for (const auto& lane : ps.m.lanes) p += ceil_div(static_cast<int64_t>(lane.size()), b_);
    return p;
  }
  int64_t free_pages() const {
    int64_t used = 0;
    for (const auto& [id, ps] : seqs_) used += pages_of(ps);
    return options_.num_pages - used;
  }
  int64_t idle_pages() const {
    int64_t p = 0;
    for (const auto& [id, ps] : seqs_) {
      if (ps.idle) p += pages_of(ps);
    }
    return p;
  }

  // Applies a plan to the fake storage in order (the engine's contract).
  void apply(const CompactionPlan& plan) {
    for (const EntryMove& mv : plan.moves) {
      slot(mv.dst_page, mv.dst_slot) = slot(mv.src_page, mv.src_slot);
    }
    for (PageId p : plan.freed_pages) {
      for (int64_t s = 0; s < b_; ++s) slot(p, s) = -2;
    }
  }
  int64_t& slot(PageId page, int64_t s) { return storage_[static_cast<size_t>(page * b_ + s)]; }

  std::mt19937_64 rng_;
  int64_t layers_ = 1, heads_ = 1, b_ = 1;
  KvPoolOptions options_;
  SessionLimits limits_;
  FakeClock clock_;
  std::unique_ptr<KvPool> pool_;
  std::unique_ptr<SessionStore> store_;
  std::vector<int64_t> storage_;
  std::map<SeqId, PoolSeq> seqs_;
  std::map<std::pair<std::string, std::string>, ModelSession> sessions_;
  std::map<EvictionReason, int64_t> evicted_;
  SeqId next_seq_ = 1;
  int64_t next_entry_ = 0;
  uint64_t tick_ = 0;
  int64_t hits_ = 0, misses_ = 0, cached_tokens_ = 0, aborted_ = 0;
  int64_t pressure_drops_ = 0, limit_drops_ = 0, expired_ = 0, deleted_ = 0;
};

}  // namespace trimserve::kvpool_test
