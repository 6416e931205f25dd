// Multi-turn sessions through the real CPU engine (tiny model): a resumed session reuses its
// cache and gives the logits of a fresh run over the whole conversation (policy full), a
// rollback after an edited history gives the logits of a fresh run on the edited prompt
// (policy full), and under trimkv a 3-turn session gives exactly the logits of one sequence fed
// the same tokens with the same step boundaries (same eviction decisions).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "engine/cpu/cpu_engine.h"
#include "engine/weights.h"
#include "kvpool/session_pool.h"
#include "scheduler/sequence_runner.h"
#include "tests/support/fake_clock.h"
#include "tests/support/engine_rig.h"

using namespace trimserve;
using Tokens = std::vector<int32_t>;

namespace {

using testing::EngineRig;
using testing::max_abs_diff;
std::shared_ptr<const ModelWeights> tiny(const std::string& name) { return testing::load_tiny_weights(name); }
EngineRig make_rig(std::shared_ptr<const ModelWeights> w, int64_t num_pages = 2048, int64_t b = 4) {
  return testing::make_engine_rig(std::move(w), num_pages, b);
}




Tokens ids(int n, int salt) {
  Tokens v;
  for (int i = 0; i < n; ++i) v.push_back((i * 37 + salt * 101 + 11) % 500);
  return v;
}

int32_t argmax(const std::vector<float>& logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}


Tokens concat(Tokens a, const Tokens& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// One session turn as a server runs it: begin (reuse/rollback), prefill the uncached rest of
// `prompt`, generate `num_generate` greedy tokens (all but the last are fed back), park.
// Returns the logits after the prompt; `generated` gets the greedy tokens.
struct Session {
  EngineRig& rig;
  SessionStore& store;
  SessionKey key;
  SequenceRunnerOptions options;

  std::vector<float> turn(const Tokens& prompt, int num_generate, Tokens& generated,
                          TurnStart* start_out = nullptr) {
    auto started = begin_session_turn(store, *rig.pool, key, prompt, /*new_seq=*/42, options.kv);
    REQUIRE(started.ok());
    rig.engine->apply(started->plan);
    if (start_out != nullptr) *start_out = started->start;
    auto runner = SequenceRunner::resume(*rig.engine, *rig.pool, started->start.seq, options);
    REQUIRE(runner.ok());
    REQUIRE(runner->num_processed() == started->start.cached_tokens);
    const Tokens rest(prompt.begin() + started->start.cached_tokens, prompt.end());
    auto logits = runner->prefill(rest);
    REQUIRE(logits.ok());
    const std::vector<float> prompt_logits = *logits;
    Tokens history(prompt);
    generated.clear();
    std::vector<float> cur = prompt_logits;
    for (int i = 0; i < num_generate; ++i) {
      generated.push_back(argmax(cur));
      if (i + 1 == num_generate) break;
      auto next = runner->decode(generated.back());
      REQUIRE(next.ok());
      history.push_back(generated.back());
      cur = std::move(*next);
    }
    runner->detach();
    REQUIRE(end_session_turn(store, *rig.pool, key, history).ok());
    return prompt_logits;
  }
};

std::vector<float> fresh_prefill(std::shared_ptr<const ModelWeights> w,
                                 const SequenceRunnerOptions& o, const Tokens& prompt) {
  EngineRig rig = make_rig(w);
  auto r = SequenceRunner::create(*rig.engine, *rig.pool, 1, o);
  REQUIRE(r.ok());
  auto logits = r->prefill(prompt);
  REQUIRE(logits.ok());
  return *logits;
}

}  // namespace

TEST_CASE("session resume and rollback match fresh runs (policy full)", "[session]") {
  auto w = tiny("gqa2-untied-rg");
  SequenceRunnerOptions o;
  o.prefill_chunk = 8;
  EngineRig rig = make_rig(w);
  testing::FakeClock clock;
  SessionStore store(clock, {});
  Session s{rig, store, {"acme", "chat"}, o};

  const Tokens a = ids(20, 1);
  Tokens gen;
  TurnStart start;
  s.turn(a, 5, gen, &start);
  CHECK_FALSE(start.resumed);
  const Tokens history = concat(a, Tokens(gen.begin(), gen.end() - 1));  // the last one not fed
  CHECK(store.info(s.key)->num_tokens == static_cast<int64_t>(history.size()));

  SECTION("resume: cached_tokens == history, same logits as a fresh run") {
    const Tokens prompt2 = concat(concat(a, gen), ids(7, 2));
    Tokens gen2;
    const auto resumed = s.turn(prompt2, 1, gen2, &start);
    CHECK(start.resumed);
    CHECK(start.cached_tokens == static_cast<int64_t>(history.size()));
    CHECK_FALSE(start.needs_truncate);
    CHECK(max_abs_diff(resumed, fresh_prefill(w, o, prompt2)) < 1e-4);
    CHECK(store.stats().cached_tokens == static_cast<int64_t>(history.size()));
  }
  SECTION("rollback: an edited history gives the fresh run's logits") {
    Tokens edited = concat(concat(a, gen), ids(5, 3));
    const int64_t p = 11;
    edited[static_cast<size_t>(p)] = (edited[static_cast<size_t>(p)] + 1) % 500;
    const int64_t pages_before = rig.pool->stats().pages_used;
    Tokens gen2;
    const auto rolled = s.turn(edited, 1, gen2, &start);
    CHECK(start.resumed);
    CHECK(start.needs_truncate);
    CHECK(start.cached_tokens == p);
    CHECK(rig.pool->stats().truncated > 0);
    CHECK(rig.pool->stats().pages_used >= pages_before);  // re-grew past the rollback point
    CHECK(max_abs_diff(rolled, fresh_prefill(w, o, edited)) < 1e-4);
  }
  SECTION("identical prompt: reuse all but the last token") {
    Tokens gen2;
    const auto again = s.turn(history, 1, gen2, &start);
    CHECK(start.cached_tokens == static_cast<int64_t>(history.size()) - 1);
    CHECK(max_abs_diff(again, fresh_prefill(w, o, history)) < 1e-4);
  }
  CHECK(rig.pool->check_invariants().ok());
  REQUIRE(delete_session(store, *rig.pool, s.key).ok());
  CHECK(rig.pool->stats().pages_used == 0);
  CHECK(rig.pool->stats().num_sequences == 0);
}

TEST_CASE("trimkv: a 3-turn session equals one sequence with the same steps", "[session]") {
  auto w = tiny("gqa2-untied-rg");
  SequenceRunnerOptions o;
  o.prefill_chunk = 8;
  o.kv.policy = KvPolicy::kTrimKv;
  o.kv.budget = 6;
  o.kv.buffer = 2;
  EngineRig rig = make_rig(w);
  testing::FakeClock clock;
  SessionStore store(clock, {});
  Session s{rig, store, {"acme", "chat"}, o};

  // Reference: one sequence fed the same chunks: each turn's uncached prompt tail as one
  // prefill, then the fed generated tokens one by one.
  EngineRig ref_rig = make_rig(w);
  auto ref = SequenceRunner::create(*ref_rig.engine, *ref_rig.pool, 1, o);
  REQUIRE(ref.ok());

  Tokens conversation;
  Tokens gen;
  for (int turn = 0; turn < 3; ++turn) {
    INFO("turn " << turn);
    const Tokens prompt = concat(concat(conversation, gen), ids(13 + turn * 5, turn + 4));
    TurnStart start;
    Tokens session_gen;
    const auto got = s.turn(prompt, 4, session_gen, &start);
    CHECK(start.resumed == (turn > 0));
    CHECK(start.cached_tokens == ref->num_processed());
    CHECK_FALSE(start.needs_truncate);

    auto want = ref->prefill(Tokens(prompt.begin() + ref->num_processed(), prompt.end()));
    REQUIRE(want.ok());
    CHECK(got == *want);  // same tokens, same steps: bit-identical
    std::vector<float> cur = *want;
    Tokens ref_gen;
    for (int i = 0; i < 4; ++i) {
      ref_gen.push_back(argmax(cur));
      if (i == 3) break;
      auto next = ref->decode(ref_gen.back());
      REQUIRE(next.ok());
      cur = std::move(*next);
    }
    CHECK(session_gen == ref_gen);
    const SequenceKvStats a = rig.pool->sequence_stats(42);
    const SequenceKvStats b = ref->kv_stats();
    CHECK(a.retained == b.retained);
    CHECK(a.num_processed == b.num_processed);
    CHECK(a.num_compressions == b.num_compressions);
    CHECK(a.num_compressions > 0);
    for (int64_t l = 0; l < w->config.num_hidden_layers; ++l) {
      for (int64_t h = 0; h < w->config.num_key_value_heads; ++h) {
        CHECK(rig.pool->lane_positions(42, l, h) == ref_rig.pool->lane_positions(1, l, h));
      }
    }
    conversation = prompt;
    gen = session_gen;
  }
  CHECK(store.stats().hits == 2);
  CHECK(store.stats().misses == 1);
}

TEST_CASE("session glue: abort, expiry and LRU release the sequence's pages", "[session]") {
  auto w = tiny("gqa2-untied-rg");
  SequenceRunnerOptions o;
  o.prefill_chunk = 8;
  EngineRig rig = make_rig(w);
  testing::FakeClock clock;
  SessionStore store(clock, {.max_sessions_per_tenant = 1, .ttl_s = 30});
  Session s{rig, store, {"acme", "one"}, o};
  Tokens gen;
  s.turn(ids(9, 1), 2, gen);
  CHECK(rig.pool->stats().pages_used > 0);

  // A second session of the same tenant evicts the first (LRU) and releases its pages.
  auto second = begin_session_turn(store, *rig.pool, {"acme", "two"}, ids(5, 2), 43, o.kv);
  REQUIRE(second.ok());
  REQUIRE(second->start.evicted.has_value());
  CHECK(*second->start.evicted == 42);
  CHECK_FALSE(rig.pool->has_sequence(42));
  CHECK(rig.pool->has_sequence(43));
  // History that does not match the sequence is refused; the turn then aborts cleanly.
  CHECK(end_session_turn(store, *rig.pool, {"acme", "two"}, Tokens{1, 2}).code() ==
        ErrorCode::kFailedPrecondition);
  REQUIRE(abort_session_turn(store, *rig.pool, {"acme", "two"}).ok());
  CHECK_FALSE(rig.pool->has_sequence(43));

  s.turn(ids(9, 3), 2, gen);
  clock.advance(31);
  CHECK(expire_sessions(store, *rig.pool) == 1);
  CHECK(rig.pool->stats().pages_used == 0);
  CHECK(rig.pool->stats().num_sequences == 0);
  CHECK(rig.pool->check_invariants().ok());
}
