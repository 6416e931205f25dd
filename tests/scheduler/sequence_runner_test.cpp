// SequenceRunner over the real CPU engine and KvPool on a tiny model: the TrimKV step
// protocol (chunked prefill, compress after every step), budgets, and errors that leave the
// sequence usable.
#include "scheduler/sequence_runner.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "engine/cpu/cpu_engine.h"
#include "engine/weights.h"
#include "tests/support/engine_rig.h"

using namespace trimserve;

namespace {

using testing::EngineRig;
using testing::max_abs_diff;
std::shared_ptr<const ModelWeights> tiny(const std::string& name) { return testing::load_tiny_weights(name); }
EngineRig make_rig(std::shared_ptr<const ModelWeights> w, int64_t num_pages, int64_t page_size = 4) {
  return testing::make_engine_rig(std::move(w), num_pages, page_size);
}




std::vector<int32_t> ids(int n, int V) {
  std::vector<int32_t> v;
  for (int i = 0; i < n; ++i) v.push_back((i * 37 + 11) % V);
  return v;
}


}  // namespace

TEST_CASE("full policy: logits do not depend on the prefill chunk size", "[runner]") {
  auto w = tiny("gqa2-untied-rg");
  const auto prompt = ids(45, static_cast<int>(w->config.vocab_size));
  std::vector<std::vector<float>> results;
  for (int64_t chunk : {1, 7, 16, 512}) {
    EngineRig rig = make_rig(w, 512);
    SequenceRunnerOptions o;
    o.prefill_chunk = chunk;
    auto r = SequenceRunner::create(*rig.engine, *rig.pool, 1, o);
    REQUIRE(r.ok());
    auto logits = r->prefill(prompt);
    REQUIRE(logits.ok());
    auto next = r->decode(3);
    REQUIRE(next.ok());
    CHECK(r->num_processed() == 46);
    results.push_back(*next);
  }
  for (size_t i = 1; i < results.size(); ++i) CHECK(max_abs_diff(results[0], results[i]) < 1e-4);
}

TEST_CASE("per-lane and global budgets hold after every step", "[runner]") {
  auto w = tiny("gqa2-untied-rg");
  const int64_t lanes = w->config.num_hidden_layers * w->config.num_key_value_heads;
  for (KvPolicy policy : {KvPolicy::kWindow, KvPolicy::kTrimKv, KvPolicy::kTrimKvGlobal}) {
    EngineRig rig = make_rig(w, 1024);
    SequenceRunnerOptions o;
    o.kv.policy = policy;
    o.kv.budget = 10;
    o.kv.buffer = 3;
    o.prefill_chunk = 9;
    auto r = SequenceRunner::create(*rig.engine, *rig.pool, 7, o);
    REQUIRE(r.ok());
    REQUIRE(r->prefill(ids(40, 500)).ok());
    for (int step = 0; step < 20; ++step) {
      REQUIRE(r->decode(step % 500).ok());
      const SequenceKvStats st = r->kv_stats();
      if (policy == KvPolicy::kTrimKvGlobal) {
        CHECK(st.retained < (o.kv.budget + o.kv.buffer) * lanes);
      } else {
        for (int64_t l = 0; l < w->config.num_hidden_layers; ++l) {
          for (int64_t h = 0; h < w->config.num_key_value_heads; ++h) {
            CHECK(rig.pool->lane(7, l, h).len < o.kv.budget + o.kv.buffer);
          }
        }
      }
      CHECK(st.offered == (40 + step + 1) * lanes);
    }
    CHECK(rig.pool->check_invariants().ok());
  }
}

TEST_CASE("errors leave the sequence usable", "[runner]") {
  auto w = tiny("gqa2-untied-rg");
  SequenceRunnerOptions o;
  o.prefill_chunk = 8;

  SECTION("empty prompt") {
    EngineRig rig = make_rig(w, 512);
    auto r = SequenceRunner::create(*rig.engine, *rig.pool, 1, o);
    REQUIRE(r.ok());
    CHECK(r->prefill({}).status().code() == ErrorCode::kInvalidArgument);
  }
  SECTION("past max_position_embeddings") {
    EngineRig rig = make_rig(w, 4096);
    auto r = SequenceRunner::create(*rig.engine, *rig.pool, 1, o);
    REQUIRE(r.ok());
    const auto too_long = ids(static_cast<int>(w->config.max_position_embeddings) + 1, 500);
    auto bad = r->prefill(too_long);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.status().code() == ErrorCode::kOutOfRange);
  }
  SECTION("out of KV pages: kResourceExhausted, then a smaller step still works") {
    const int64_t lanes = w->config.num_hidden_layers * w->config.num_key_value_heads;
    EngineRig rig = make_rig(w, lanes * 3, /*page_size=*/4);  // 12 entries per lane
    auto r = SequenceRunner::create(*rig.engine, *rig.pool, 1, o);
    REQUIRE(r.ok());
    REQUIRE(r->prefill(ids(8, 500)).ok());
    auto full = r->prefill(ids(8, 500));  // would need 16 entries per lane
    REQUIRE_FALSE(full.ok());
    CHECK(full.status().code() == ErrorCode::kResourceExhausted);
    CHECK(r->num_processed() == 8);
    CHECK(r->decode(5).ok());
    CHECK(r->num_processed() == 9);
  }
  SECTION("a token id outside the vocabulary") {
    EngineRig rig = make_rig(w, 512);
    auto r = SequenceRunner::create(*rig.engine, *rig.pool, 1, o);
    REQUIRE(r.ok());
    auto bad = r->decode(static_cast<int32_t>(w->config.vocab_size));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.status().code() == ErrorCode::kInvalidArgument);
    CHECK(r->decode(1).ok());
  }
}

TEST_CASE("prefill_scored: row i is the distribution after token i, chunks as prefill", "[runner]") {
  auto w = tiny("gqa2-untied-rg");
  const int64_t V = w->config.vocab_size;
  const auto prompt = ids(23, static_cast<int>(V));
  SequenceRunnerOptions o;
  o.prefill_chunk = 7;

  SECTION("full: every row equals the last-row logits of a prefill of that prefix") {
    EngineRig rig = make_rig(w, 512);
    auto r = SequenceRunner::create(*rig.engine, *rig.pool, 1, o);
    REQUIRE(r.ok());
    std::vector<float> rows;
    std::vector<int64_t> offsets;
    REQUIRE(r->prefill_scored(prompt, [&](int64_t offset, std::span<const float> logits) {
      offsets.push_back(offset);
      rows.insert(rows.end(), logits.begin(), logits.end());
      return Status();
    }).ok());
    CHECK(offsets == std::vector<int64_t>{0, 7, 14, 21});
    REQUIRE(rows.size() == prompt.size() * static_cast<size_t>(V));
    CHECK(r->num_processed() == static_cast<int64_t>(prompt.size()));
    for (size_t n : {size_t{1}, size_t{6}, size_t{7}, size_t{12}, prompt.size()}) {
      EngineRig fresh = make_rig(w, 512);
      auto f = SequenceRunner::create(*fresh.engine, *fresh.pool, 1, o);
      REQUIRE(f.ok());
      auto last = f->prefill(std::span<const int32_t>(prompt).first(n));
      REQUIRE(last.ok());
      const std::vector<float> row(rows.begin() + static_cast<int64_t>((n - 1) * V),
                                   rows.begin() + static_cast<int64_t>(n * V));
      CHECK(max_abs_diff(row, *last) < 1e-4);
    }
  }
  SECTION("an evicting policy compresses between chunks exactly as prefill does") {
    o.kv.policy = KvPolicy::kTrimKv;
    o.kv.budget = 5;
    o.kv.buffer = 1;
    EngineRig a = make_rig(w, 512), b = make_rig(w, 512);
    auto scored = SequenceRunner::create(*a.engine, *a.pool, 1, o);
    auto plain = SequenceRunner::create(*b.engine, *b.pool, 1, o);
    REQUIRE(scored.ok());
    REQUIRE(plain.ok());
    std::vector<float> last_row;
    std::vector<int64_t> retained;
    REQUIRE(scored->prefill_scored(prompt, [&](int64_t, std::span<const float> logits) {
      last_row.assign(logits.end() - V, logits.end());
      retained.push_back(scored->kv_stats().retained);
      return Status();
    }).ok());
    auto last = plain->prefill(prompt);
    REQUIRE(last.ok());
    CHECK(max_abs_diff(last_row, *last) < 1e-5);
    CHECK(scored->kv_stats().retained == plain->kv_stats().retained);
    CHECK(retained.back() == scored->kv_stats().retained);
  }
  SECTION("an error from the callback stops the prefill") {
    EngineRig rig = make_rig(w, 512);
    auto r = SequenceRunner::create(*rig.engine, *rig.pool, 1, o);
    REQUIRE(r.ok());
    Status s = r->prefill_scored(prompt, [](int64_t, std::span<const float>) {
      return invalid_argument("stop");
    });
    CHECK(s.code() == ErrorCode::kInvalidArgument);
    CHECK(r->num_processed() == 7);
  }
}
