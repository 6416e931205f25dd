// SessionManager through the real CPU engine (tiny gated model, trimkv-global): a session
// persisted by one engine resumes in a fresh engine + pool (a restart) with bit-identical
// logits; a session dropped from memory under global pressure comes back from its file; files
// of another model are rejected and the turn recomputes; delete removes memory and file; the
// runner's make_room hook relieves pressure by idle entries first and counts it.
#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/model_fingerprint.h"
#include "scheduler/sequence_runner.h"
#include "scheduler/session_manager.h"
#include "tests/support/engine_rig.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

using namespace trimserve;
using Tokens = std::vector<int32_t>;
using testing::EngineRig;
using testing::FakeClock;
using testing::TempDir;

namespace {

Tokens ids(int n, int salt) {
  Tokens v;
  for (int i = 0; i < n; ++i) v.push_back((i * 37 + salt * 101 + 11) % 500);
  return v;
}

Tokens concat(Tokens a, const Tokens& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

SequenceKvConfig global_kv(int64_t budget) {
  SequenceKvConfig kv;
  kv.policy = KvPolicy::kTrimKvGlobal;
  kv.budget = budget;
  kv.buffer = 4;
  return kv;
}

// One engine + pool + manager ("a daemon process").
struct Daemon {
  EngineRig rig;
  FakeClock clock;
  std::unique_ptr<SessionManager> sessions;

  Daemon(std::shared_ptr<const ModelWeights> w, int64_t pages, const std::string& dir,
         const std::string& fingerprint)
      : rig(testing::make_engine_rig(w, pages)) {
    SessionManagerOptions o;
    o.dir = dir;
    o.model_fingerprint = fingerprint;
    auto m = SessionManager::create(*rig.engine, *rig.pool, clock, o);
    REQUIRE(m.ok());
    sessions = std::move(*m);
  }

  // A turn that prefills the uncached rest of `prompt` and parks the session. Returns the
  // logits after the prompt.
  std::vector<float> turn(const SessionKey& key, const Tokens& prompt, SeqId new_seq,
                          TurnBegin* begin_out = nullptr,
                          const SequenceKvConfig& kv = global_kv(12)) {
    auto begin = sessions->begin_turn(key, prompt, new_seq, kv);
    REQUIRE(begin.ok());
    if (begin_out != nullptr) *begin_out = *begin;
    SequenceRunnerOptions ro;
    ro.prefill_chunk = 16;
    ro.make_room = [this](SeqId seq, int64_t tokens) { return sessions->make_room(seq, tokens); };
    auto runner = SequenceRunner::resume(*rig.engine, *rig.pool, begin->seq, ro);
    REQUIRE(runner.ok());
    runner->detach();
    auto logits = runner->prefill(Tokens(prompt.begin() + begin->cached_tokens, prompt.end()));
    REQUIRE(logits.ok());
    REQUIRE(sessions->end_turn(key, prompt).ok());
    return *logits;
  }
};

}  // namespace

TEST_CASE("a persisted session resumes after a restart with identical logits", "[session][disk]") {
  auto w = testing::load_tiny_weights("gqa2-untied-rg");
  const std::string fp = model_fingerprint(*w);
  TempDir dir;
  const SessionKey key{"acme", "conv-1"};
  const Tokens turn1 = ids(40, 1);
  const Tokens turn2 = concat(turn1, ids(25, 2));

  std::vector<float> expected;
  {
    Daemon a(w, 512, dir.str(), fp);
    a.turn(key, turn1, 1);
    expected = a.turn(key, turn2, 2);  // in memory
    CHECK(a.sessions->stats().disk_saves == 2);
  }
  TempDir dir2;
  {
    Daemon first(w, 512, dir2.str(), fp);  // a process that stops after turn 1
    first.turn(key, turn1, 1);
  }
  Daemon b(w, 512, dir2.str(), fp);
  CHECK(b.sessions->stats().disk_files == 1);
  TurnBegin begin;
  const std::vector<float> got = b.turn(key, turn2, 7, &begin);
  CHECK(begin.from_disk);
  CHECK(begin.resumed);
  CHECK(begin.cached_tokens == static_cast<int64_t>(turn1.size()));
  CHECK(got == expected);  // bit-identical: the same K/V rows, positions and logβ
  CHECK(b.sessions->stats().disk_loads == 1);
  CHECK(b.rig.pool->check_invariants().ok());

  // Another tenant with the same session id sees nothing of it.
  TurnBegin other;
  b.turn(SessionKey{"globex", "conv-1"}, turn2, 8, &other);
  CHECK(!other.resumed);
  CHECK(b.sessions->stats().disk_files == 2);

  // Delete removes memory and file; a second delete is kNotFound.
  CHECK(b.sessions->remove(key).ok());
  CHECK(b.sessions->remove(key).code() == ErrorCode::kNotFound);
  CHECK(b.sessions->stats().disk_files == 1);
}

TEST_CASE("a file of another model is rejected and the turn recomputes", "[session][disk]") {
  auto w = testing::load_tiny_weights("gqa2-untied-rg");
  TempDir dir;
  const SessionKey key{"acme", "conv-1"};
  const Tokens prompt = ids(30, 3);
  std::vector<float> fresh;
  {
    Daemon a(w, 512, dir.str(), "model A");
    fresh = a.turn(key, prompt, 1);
  }
  Daemon b(w, 512, dir.str(), "model B");
  TurnBegin begin;
  CHECK(b.turn(key, prompt, 1, &begin) == fresh);
  CHECK(!begin.from_disk);
  CHECK(!begin.resumed);
  const SessionStats st = b.sessions->stats();
  CHECK(st.disk_rejected == 1);
  CHECK(st.disk_files == 1);  // rewritten under model B at the end of the turn
}

TEST_CASE("global pressure: idle entries first, then idle sessions, and files bring them back",
          "[session][disk]") {
  auto w = testing::load_tiny_weights("gqa2-untied-rg");
  const std::string fp = model_fingerprint(*w);
  TempDir dir;
  // 3 layers x 2 kv-heads = 6 lanes, B = 4.
  SequenceKvConfig full;
  full.policy = KvPolicy::kFull;
  SECTION("memory only: shaving idle entries is enough, the oldest loses most") {
    // Two parked trimkv-global sessions (about 12 * 6 entries each) and a long third one.
    Daemon d(w, 64, "", fp);
    d.turn({"acme", "one"}, ids(40, 1), 1);
    d.clock.advance(100);
    d.turn({"acme", "two"}, ids(40, 2), 2);
    d.turn({"globex", "three"}, ids(120, 3), 3);
    const SessionStats st = d.sessions->stats();
    CHECK(st.pool.evicted_by(EvictionReason::kGlobalPressure) > 0);
    CHECK(st.sessions.evicted_pressure == 0);
    CHECK(st.sessions.num_sessions == 3);
    CHECK(d.rig.pool->sequence_stats(1).retained < d.rig.pool->sequence_stats(2).retained);
    CHECK(d.rig.pool->check_invariants().ok());
  }
  SECTION("with files: idle sessions are dropped whole and come back exactly") {
    Daemon d(w, 64, dir.str(), fp);
    const SessionKey one{"acme", "one"};
    d.turn(one, ids(40, 1), 1);
    d.clock.advance(100);
    d.turn({"acme", "two"}, ids(40, 2), 2);
    d.turn({"globex", "three"}, ids(120, 3), 3);
    const SessionStats st = d.sessions->stats();
    CHECK(st.sessions.evicted_pressure >= 1);
    CHECK(!d.sessions->store().info(one).ok());  // least recently used, dropped whole
    // Its next turn reloads it and sees exactly what a memory-rich run sees.
    const Tokens next = concat(ids(40, 1), ids(6, 5));
    TurnBegin begin;
    const std::vector<float> got = d.turn(one, next, 4, &begin);
    CHECK(begin.from_disk);
    Daemon roomy(w, 512, "", fp);
    roomy.turn(one, ids(40, 1), 1);
    CHECK(got == roomy.turn(one, next, 2));
    CHECK(d.rig.pool->check_invariants().ok());
  }
  SECTION("sessions that cannot shed entries are dropped LRU and reload from disk") {
    // Two parked full-policy sessions of 40 tokens hold 2 * 60 pages of 140.
    Daemon d(w, 140, dir.str(), fp);
    const SessionKey one{"acme", "one"}, two{"acme", "two"};
    d.turn(one, ids(40, 1), 1, nullptr, full);
    d.clock.advance(5);
    d.turn(two, ids(40, 2), 2, nullptr, full);
    d.turn({"globex", "three"}, ids(64, 3), 3);
    SessionStats st = d.sessions->stats();
    CHECK(st.sessions.evicted_pressure == 1);
    CHECK(st.pool.evicted_by(EvictionReason::kGlobalPressure) >= 240);
    CHECK(!d.sessions->store().info(one).ok());  // the least recently used went
    CHECK(d.sessions->store().info(two).ok());
    // Its next turn loads it from its file and prefills only the new tokens.
    TurnBegin begin;
    d.turn(one, concat(ids(40, 1), ids(5, 9)), 4, &begin, full);
    CHECK(begin.from_disk);
    CHECK(begin.cached_tokens == 40);
    CHECK(d.sessions->stats().disk_loads == 1);
    CHECK(d.rig.pool->check_invariants().ok());
  }
}

TEST_CASE("housekeeping expires sessions in memory and on disk", "[session][disk]") {
  auto w = testing::load_tiny_weights("gqa2-untied-rg");
  TempDir dir;
  EngineRig rig = testing::make_engine_rig(w, 256);
  FakeClock clock;
  SessionManagerOptions o;
  o.dir = dir.str();
  o.model_fingerprint = model_fingerprint(*w);
  o.limits.ttl_s = 60;
  auto m = SessionManager::create(*rig.engine, *rig.pool, clock, o);
  REQUIRE(m.ok());
  SessionManager& sessions = **m;
  const SessionKey key{"acme", "a"};
  const Tokens prompt = ids(10, 1);
  auto begin = sessions.begin_turn(key, prompt, 1, global_kv(12));
  REQUIRE(begin.ok());
  SequenceRunnerOptions ro;
  auto runner = SequenceRunner::resume(*rig.engine, *rig.pool, begin->seq, ro);
  REQUIRE(runner.ok());
  runner->detach();
  REQUIRE(runner->prefill(prompt).ok());
  REQUIRE(sessions.end_turn(key, prompt).ok());
  CHECK(sessions.stats().disk_files == 1);
  clock.advance(61);
  sessions.housekeeping();
  const SessionStats st = sessions.stats();
  CHECK(st.sessions.num_sessions == 0);
  CHECK(st.sessions.evicted_expired == 1);
  CHECK(st.pool.pages_used == 0);
  // The file's mtime is real time, not the fake clock: it is younger than the TTL and stays.
  CHECK(st.disk_files == 1);

  // A bad directory is reported with the config key.
  SessionManagerOptions bad;
  bad.dir = dir.file("not-a-dir");
  std::ofstream(bad.dir) << "x";
  auto failed = SessionManager::create(*rig.engine, *rig.pool, clock, bad);
  REQUIRE(!failed.ok());
  CHECK(failed.status().message().find("kvpool.sessions.dir") != std::string::npos);
}
