// SessionStore: prefix reuse and rollback decisions, busy sessions, per-tenant LRU limit, TTL
// with a fake clock, delete, tenant isolation, counters; and a seeded randomized test of call
// sequences against a brute-force std::map model.
#include "kvpool/session_store.h"

#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>
#include <tuple>
#include <vector>

#include "tests/support/fake_clock.h"

using namespace trimserve;
using Tokens = std::vector<int32_t>;

namespace {

const SessionKey kA{"acme", "chat-1"};

// Starts and ends a turn so that `key` is idle with `history`.
void park(SessionStore& store, const SessionKey& key, const Tokens& history, SeqId seq) {
  auto t = store.begin_turn(key, history, seq);
  REQUIRE(t.ok());
  REQUIRE(store.end_turn(key, history).ok());
}

}  // namespace

TEST_CASE("session store: prefix reuse and rollback", "[session]") {
  testing::FakeClock clock;
  SessionStore store(clock, {});
  auto fresh = store.begin_turn(kA, Tokens{1, 2, 3}, 7);
  REQUIRE(fresh.ok());
  CHECK(fresh->seq == 7);
  CHECK_FALSE(fresh->resumed);
  CHECK(fresh->cached_tokens == 0);
  CHECK_FALSE(fresh->needs_truncate);
  CHECK_FALSE(fresh->evicted.has_value());
  REQUIRE(store.end_turn(kA, Tokens{1, 2, 3, 4, 5}).ok());

  SECTION("identical prompt: reuse all but the last token") {
    auto t = store.begin_turn(kA, Tokens{1, 2, 3, 4, 5}, 99);
    REQUIRE(t.ok());
    CHECK(t->seq == 7);
    CHECK(t->resumed);
    CHECK(t->cached_tokens == 4);
    CHECK(t->needs_truncate);
    CHECK(t->truncate_at == 4);
  }
  SECTION("extension: reuse the whole history") {
    auto t = store.begin_turn(kA, Tokens{1, 2, 3, 4, 5, 6, 7}, 99);
    REQUIRE(t.ok());
    CHECK(t->cached_tokens == 5);
    CHECK_FALSE(t->needs_truncate);
    CHECK(t->truncate_at == 5);
  }
  SECTION("divergence at p: truncate at p") {
    auto t = store.begin_turn(kA, Tokens{1, 2, 9, 4, 5, 6}, 99);
    REQUIRE(t.ok());
    CHECK(t->cached_tokens == 2);
    CHECK(t->needs_truncate);
    CHECK(t->truncate_at == 2);
    CHECK(store.info(kA)->num_tokens == 2);  // the history follows the rollback
  }
  SECTION("prompt a strict prefix of the history") {
    auto t = store.begin_turn(kA, Tokens{1, 2, 3}, 99);
    REQUIRE(t.ok());
    CHECK(t->cached_tokens == 2);
    CHECK(t->needs_truncate);
  }
  SECTION("nothing in common") {
    auto t = store.begin_turn(kA, Tokens{8}, 99);
    REQUIRE(t.ok());
    CHECK(t->resumed);
    CHECK(t->cached_tokens == 0);
    CHECK(t->needs_truncate);
    CHECK(t->truncate_at == 0);
  }
  SECTION("empty history") {
    const SessionKey k{"acme", "empty"};
    park(store, k, Tokens{4}, 8);
    REQUIRE(store.begin_turn(k, Tokens{4}, 0).ok());
    REQUIRE(store.end_turn(k, Tokens{}).ok());
    auto t = store.begin_turn(k, Tokens{1, 2}, 0);
    REQUIRE(t.ok());
    CHECK(t->resumed);
    CHECK(t->cached_tokens == 0);
    CHECK_FALSE(t->needs_truncate);
  }
  SECTION("empty prompt is rejected and changes nothing") {
    CHECK(store.begin_turn(kA, Tokens{}, 99).status().code() == ErrorCode::kInvalidArgument);
    CHECK_FALSE(store.info(kA)->running);
  }
}

TEST_CASE("session store: a running session is busy", "[session]") {
  testing::FakeClock clock;
  SessionStore store(clock, {});
  REQUIRE(store.begin_turn(kA, Tokens{1}, 1).ok());
  auto busy = store.begin_turn(kA, Tokens{1, 2}, 2);
  CHECK(busy.status().code() == ErrorCode::kFailedPrecondition);
  CHECK(busy.status().message().find("busy") != std::string::npos);
  CHECK(store.remove(kA).status().code() == ErrorCode::kFailedPrecondition);
  CHECK(store.info(kA)->running);
  auto aborted = store.abort_turn(kA);
  REQUIRE(aborted.ok());
  CHECK(*aborted == 1);
  CHECK(store.info(kA).status().code() == ErrorCode::kNotFound);
  CHECK(store.abort_turn(kA).status().code() == ErrorCode::kNotFound);
  CHECK(store.end_turn(kA, {}).code() == ErrorCode::kNotFound);
  park(store, kA, Tokens{1}, 3);
  CHECK(store.end_turn(kA, {}).code() == ErrorCode::kFailedPrecondition);
  CHECK(store.abort_turn(kA).status().code() == ErrorCode::kFailedPrecondition);
  CHECK(store.stats().aborted == 1);
}

TEST_CASE("session store: per-tenant limit evicts the tenant's LRU idle session", "[session]") {
  testing::FakeClock clock;
  SessionStore store(clock, {.max_sessions_per_tenant = 2, .ttl_s = 0});
  park(store, {"t1", "a"}, Tokens{1}, 1);
  clock.advance(1);
  park(store, {"t1", "b"}, Tokens{2}, 2);
  park(store, {"t2", "a"}, Tokens{3}, 3);  // another tenant: its own limit
  // Touch "a" again so "b" is the least recently used (same clock time: order still counts).
  REQUIRE(store.begin_turn({"t1", "a"}, Tokens{1, 1}, 0).ok());
  REQUIRE(store.end_turn({"t1", "a"}, Tokens{1, 1}).ok());

  auto c = store.begin_turn({"t1", "c"}, Tokens{4}, 4);
  REQUIRE(c.ok());
  REQUIRE(c->evicted.has_value());
  CHECK(*c->evicted == 2);
  CHECK(store.info({"t1", "b"}).status().code() == ErrorCode::kNotFound);
  CHECK(store.info({"t2", "a"}).ok());
  CHECK(store.stats().evicted_limit == 1);

  // "c" runs; begin "a" so both t1 sessions run: a third is refused and nothing changes.
  REQUIRE(store.begin_turn({"t1", "a"}, Tokens{1, 1, 5}, 0).ok());
  auto d = store.begin_turn({"t1", "d"}, Tokens{5}, 5);
  CHECK(d.status().code() == ErrorCode::kResourceExhausted);
  CHECK(store.stats().num_sessions == 3);
  CHECK(store.info({"t1", "d"}).status().code() == ErrorCode::kNotFound);
}

TEST_CASE("session store: a tenant's own session limit replaces the default", "[session]") {
  testing::FakeClock clock;
  SessionLimits limits{.max_sessions_per_tenant = 3, .ttl_s = 0};
  limits.max_sessions_by_tenant["small"] = 1;
  SessionStore store(clock, limits);
  park(store, {"small", "a"}, Tokens{1}, 1);
  auto b = store.begin_turn({"small", "b"}, Tokens{2}, 2);
  REQUIRE(b.ok());
  CHECK(b->evicted == std::optional<SeqId>(1));  // its limit is 1, not the default 3
  for (SeqId s = 3; s <= 5; ++s) park(store, {"other", std::to_string(s)}, Tokens{3}, s);
  auto more = store.begin_turn({"other", "6"}, Tokens{4}, 6);
  REQUIRE(more.ok());
  CHECK(more->evicted == std::optional<SeqId>(3));  // the default applies to the others
  // "b" still runs: a second session of "small" is refused, naming the limit.
  auto c = store.begin_turn({"small", "c"}, Tokens{5}, 7);
  CHECK(c.status().code() == ErrorCode::kResourceExhausted);
  CHECK(c.status().message() == "tenant 'small' has 1 sessions, all running (its session limit is 1)");
}

TEST_CASE("session store: TTL expiry with a fake clock", "[session]") {
  testing::FakeClock clock;
  SessionStore store(clock, {.max_sessions_per_tenant = 0, .ttl_s = 10});
  park(store, {"t", "old"}, Tokens{1}, 1);
  clock.advance(6);
  park(store, {"t", "new"}, Tokens{2}, 2);
  REQUIRE(store.begin_turn({"t", "run"}, Tokens{3}, 3).ok());  // running: never expires
  clock.advance(4);
  CHECK(store.expire().empty());  // "old" idle exactly 10 s: not more than the TTL
  CHECK(store.info({"t", "old"})->idle_s == Approx(10));
  clock.advance(0.5);
  CHECK(store.expire() == std::vector<SeqId>{1});
  clock.advance(100);
  CHECK(store.expire() == std::vector<SeqId>{2});
  CHECK(store.info({"t", "run"}).ok());
  CHECK(store.stats().evicted_expired == 2);
  CHECK(store.stats().num_sessions == 1);
}

TEST_CASE("session store: delete and tenant isolation", "[session]") {
  testing::FakeClock clock;
  SessionStore store(clock, {});
  const SessionKey a{"alice", "s"}, b{"bob", "s"};
  park(store, a, Tokens{1, 2, 3}, 1);
  // Bob's session with the same id is a different session: new, no reuse of Alice's cache.
  auto tb = store.begin_turn(b, Tokens{1, 2, 3, 4}, 2);
  REQUIRE(tb.ok());
  CHECK_FALSE(tb->resumed);
  CHECK(tb->seq == 2);
  REQUIRE(store.end_turn(b, Tokens{1, 2, 3, 4}).ok());
  CHECK(store.info({"carol", "s"}).status().code() == ErrorCode::kNotFound);
  CHECK(store.remove({"carol", "s"}).status().code() == ErrorCode::kNotFound);

  auto removed = store.remove(a);
  REQUIRE(removed.ok());
  CHECK(*removed == 1);
  CHECK(store.info(a).status().code() == ErrorCode::kNotFound);
  CHECK(store.remove(a).status().code() == ErrorCode::kNotFound);
  REQUIRE(store.info(b).ok());
  CHECK(store.info(b)->num_tokens == 4);
  CHECK(store.info(b)->seq == 2);
  const Tokens bh(store.history(b).begin(), store.history(b).end());
  CHECK(bh == Tokens{1, 2, 3, 4});
  CHECK(store.history(a).empty());
  CHECK(store.stats().evicted_deleted == 1);
}

TEST_CASE("session store: global LRU drop, filtered, and restore", "[session]") {
  testing::FakeClock clock;
  SessionStore store(clock, SessionLimits{2, 0.0});
  park(store, {"acme", "a"}, Tokens{1}, 1);
  park(store, {"globex", "b"}, Tokens{2}, 2);
  park(store, {"acme", "c"}, Tokens{3}, 3);
  REQUIRE(store.begin_turn({"globex", "d"}, Tokens{4}, 4).ok());  // running: never dropped
  // Only sessions the filter accepts; least recently used first across tenants.
  auto only_c = [](const SessionKey& k) { return k.session_id == "c"; };
  auto d1 = store.evict_lru_idle(EvictionReason::kGlobalPressure, only_c);
  REQUIRE(d1);
  CHECK(d1->seq == 3);
  auto d2 = store.evict_lru_idle(EvictionReason::kSessionLimit);
  REQUIRE(d2);
  CHECK(d2->key == SessionKey{"acme", "a"});
  auto d3 = store.evict_lru_idle(EvictionReason::kGlobalPressure);
  REQUIRE(d3);
  CHECK(d3->seq == 2);
  CHECK(!store.evict_lru_idle(EvictionReason::kGlobalPressure));  // only the running one left
  CHECK(store.stats().evicted_pressure == 2);
  CHECK(store.stats().evicted_limit == 1);

  // Restore: an idle session with its history; the tenant limit applies as for a new one.
  auto r = store.restore({"globex", "e"}, 9, Tokens{5, 6});
  REQUIRE(r.ok());
  CHECK(!r->has_value());
  CHECK(store.history({"globex", "e"}).size() == 2);
  CHECK(store.restore({"globex", "e"}, 10, Tokens{}).status().code() ==
        ErrorCode::kFailedPrecondition);
  // globex holds d (running) and e (idle): a third drops e, its LRU idle session.
  auto r2 = store.restore({"globex", "f"}, 11, Tokens{7});
  REQUIRE(r2.ok());
  CHECK(*r2 == std::optional<SeqId>(9));
  CHECK(store.stats().restored == 2);
  // A turn on the restored session is a hit that came from disk; the next one is from memory.
  const int64_t hits = store.stats().hits;
  REQUIRE(store.begin_turn({"globex", "f"}, Tokens{7, 8}, 0).ok());
  REQUIRE(store.end_turn({"globex", "f"}, Tokens{7, 8, 9}).ok());
  CHECK(store.stats().hits == hits + 1);
  CHECK(store.stats().disk_hits == 1);
  REQUIRE(store.begin_turn({"globex", "f"}, Tokens{7, 8, 9, 10}, 0).ok());
  CHECK(store.stats().hits == hits + 2);
  CHECK(store.stats().disk_hits == 1);
}

TEST_CASE("session store: counters", "[session]") {
  testing::FakeClock clock;
  SessionStore store(clock, {});
  park(store, kA, Tokens{1, 2, 3}, 1);                  // miss
  REQUIRE(store.begin_turn(kA, Tokens{1, 2, 3, 4}, 0).ok());  // hit, 3 cached
  REQUIRE(store.end_turn(kA, Tokens{1, 2, 3, 4, 5}).ok());
  REQUIRE(store.begin_turn(kA, Tokens{1, 2, 7}, 0).ok());  // hit, 2 cached
  const SessionStoreStats st = store.stats();
  CHECK(st.misses == 1);
  CHECK(st.hits == 2);
  CHECK(st.cached_tokens == 5);
  CHECK(st.num_sessions == 1);
  CHECK(st.num_running == 1);
}

namespace {

// Brute-force model: the same semantics spelled out naively.
struct ModelSession {
  SeqId seq;
  Tokens history;
  double last_used;
  int64_t tick;
  bool running;
};

void random_run(uint64_t seed) {
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  const SessionLimits limits{uniform(0, 3), static_cast<double>(uniform(0, 5))};
  testing::FakeClock clock(0.0);
  SessionStore store(clock, limits);
  std::map<std::pair<std::string, std::string>, ModelSession> model;
  SessionStoreStats want;
  int64_t tick = 0;
  SeqId next_seq = 1;
  auto random_key = [&] {
    return SessionKey{"t" + std::to_string(uniform(0, 2)), "s" + std::to_string(uniform(0, 3))};
  };
  auto random_tokens = [&](int64_t min_len) {
    Tokens t(static_cast<size_t>(uniform(min_len, 6)));
    for (auto& x : t) x = static_cast<int32_t>(uniform(0, 2));  // small alphabet: long prefixes
    return t;
  };
  for (int op = 0; op < 300; ++op) {
    const SessionKey key = random_key();
    const auto mk = std::make_pair(key.tenant, key.session_id);
    auto it = model.find(mk);
    INFO("op " << op << " key " << key.tenant << "/" << key.session_id);
    switch (uniform(0, 5)) {
      case 0:
      case 1: {  // begin_turn
        const Tokens prompt = random_tokens(0);
        const SeqId seq = next_seq++;
        auto got = store.begin_turn(key, prompt, seq);
        if (prompt.empty()) {
          CHECK(got.status().code() == ErrorCode::kInvalidArgument);
        } else if (it != model.end() && it->second.running) {
          CHECK(got.status().code() == ErrorCode::kFailedPrecondition);
        } else if (it != model.end()) {
          REQUIRE(got.ok());
          ModelSession& m = it->second;
          size_t p = 0;
          while (p < m.history.size() && p < prompt.size() && m.history[p] == prompt[p]) ++p;
          const auto cached = std::min<int64_t>(static_cast<int64_t>(p),
                                                static_cast<int64_t>(prompt.size()) - 1);
          CHECK(got->resumed);
          CHECK(got->seq == m.seq);
          CHECK(got->cached_tokens == cached);
          CHECK(got->needs_truncate == (cached < static_cast<int64_t>(m.history.size())));
          CHECK(got->truncate_at == cached);
          m.history.resize(static_cast<size_t>(cached));
          m.running = true;
          ++want.hits;
          want.cached_tokens += cached;
        } else {
          int64_t in_tenant = 0;
          auto lru = model.end();
          for (auto m = model.begin(); m != model.end(); ++m) {
            if (m->first.first != key.tenant) continue;
            ++in_tenant;
            if (!m->second.running && (lru == model.end() || m->second.tick < lru->second.tick)) {
              lru = m;
            }
          }
          const bool full = limits.max_sessions_per_tenant > 0 &&
                            in_tenant >= limits.max_sessions_per_tenant;
          if (full && lru == model.end()) {
            CHECK(got.status().code() == ErrorCode::kResourceExhausted);
            break;
          }
          REQUIRE(got.ok());
          CHECK_FALSE(got->resumed);
          CHECK(got->seq == seq);
          CHECK(got->cached_tokens == 0);
          if (full) {
            REQUIRE(got->evicted.has_value());
            CHECK(*got->evicted == lru->second.seq);
            model.erase(lru);
            ++want.evicted_limit;
          } else {
            CHECK_FALSE(got->evicted.has_value());
          }
          model[mk] = ModelSession{seq, {}, clock.now_s(), ++tick, true};
          ++want.misses;
        }
        break;
      }
      case 2: {  // end_turn
        const Tokens history = random_tokens(0);
        const Status st = store.end_turn(key, history);
        if (it == model.end()) {
          CHECK(st.code() == ErrorCode::kNotFound);
        } else if (!it->second.running) {
          CHECK(st.code() == ErrorCode::kFailedPrecondition);
        } else {
          CHECK(st.ok());
          it->second = ModelSession{it->second.seq, history, clock.now_s(), ++tick, false};
        }
        break;
      }
      case 3: {  // abort_turn or remove
        const bool abort = uniform(0, 1) == 0;
        auto got = abort ? store.abort_turn(key) : store.remove(key);
        if (it == model.end()) {
          CHECK(got.status().code() == ErrorCode::kNotFound);
        } else if (it->second.running != abort) {
          CHECK(got.status().code() == ErrorCode::kFailedPrecondition);
        } else {
          REQUIRE(got.ok());
          CHECK(*got == it->second.seq);
          model.erase(it);
          ++(abort ? want.aborted : want.evicted_deleted);
        }
        break;
      }
      case 4: {  // expire
        std::multiset<SeqId> want_dropped;
        if (limits.ttl_s > 0) {
          for (auto m = model.begin(); m != model.end();) {
            if (!m->second.running && clock.now_s() - m->second.last_used > limits.ttl_s) {
              want_dropped.insert(m->second.seq);
              m = model.erase(m);
              ++want.evicted_expired;
            } else {
              ++m;
            }
          }
        }
        const std::vector<SeqId> got = store.expire();
        CHECK(std::multiset<SeqId>(got.begin(), got.end()) == want_dropped);
        break;
      }
      default:
        clock.advance(static_cast<double>(uniform(0, 3)));
        break;
    }
    // Full-state comparison after every operation.
    for (const auto& [k, m] : model) {
      auto info = store.info({k.first, k.second});
      REQUIRE(info.ok());
      CHECK(info->seq == m.seq);
      CHECK(info->running == m.running);
      CHECK(info->num_tokens == static_cast<int64_t>(m.history.size()));
      if (!m.running) CHECK(info->idle_s == Approx(clock.now_s() - m.last_used));
      const auto h = store.history({k.first, k.second});
      CHECK(Tokens(h.begin(), h.end()) == m.history);
    }
    const SessionStoreStats st = store.stats();
    CHECK(st.num_sessions == static_cast<int64_t>(model.size()));
    int64_t running = 0;
    for (const auto& [k, m] : model) running += m.running ? 1 : 0;
    CHECK(st.num_running == running);
    CHECK(st.hits == want.hits);
    CHECK(st.misses == want.misses);
    CHECK(st.cached_tokens == want.cached_tokens);
    CHECK(st.aborted == want.aborted);
    CHECK(st.evicted_limit == want.evicted_limit);
    CHECK(st.evicted_expired == want.evicted_expired);
    CHECK(st.evicted_deleted == want.evicted_deleted);
    if (limits.max_sessions_per_tenant > 0) {
      std::map<std::string, int64_t> per_tenant;
      for (const auto& [k, m] : model) ++per_tenant[k.first];
      for (const auto& [t, n] : per_tenant) CHECK(n <= limits.max_sessions_per_tenant);
    }
  }
}

}  // namespace

TEST_CASE("session store: random operations match a brute-force model", "[session][brute]") {
  for (uint64_t seed = 1; seed <= 300; ++seed) random_run(seed);
}
