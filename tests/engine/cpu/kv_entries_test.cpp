// Engine::read_entries / write_entries on the CPU engine: rows written into a KvPool lane read
// back unchanged and stay in their lane; after a real prefill step they return exactly what
// KvStorage holds; and a sequence rebuilt from copied rows (the session-restore path) decodes
// bit-identically to the original.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "engine/cpu/cpu_engine.h"
#include "kvpool/kv_pool.h"
#include "tests/support/engine_rig.h"

using namespace trimserve;

namespace {

struct Rows {
  std::vector<float> k, v;
};

// Distinct, recognisable values: lane, entry and column are all visible in each float.
Rows pattern_rows(int64_t lane, int64_t n, int64_t d, float salt) {
  Rows r;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < d; ++c) {
      r.k.push_back(salt + static_cast<float>(lane * 10000 + i * 100 + c));
      r.v.push_back(-salt - static_cast<float>(lane * 10000 + i * 100 + c));
    }
  }
  return r;
}

Rows read(const Engine& e, const LaneView& lane, int64_t begin, int64_t n) {
  const int64_t d = e.model_config().head_dim;
  Rows r{std::vector<float>(static_cast<size_t>(n * d)), std::vector<float>(static_cast<size_t>(n * d))};
  e.read_entries(lane, begin, n, r.k, r.v);
  return r;
}

SequenceStepInput step_input(const KvPool& pool, SeqId seq, std::vector<int32_t> tokens,
                             int64_t start_pos) {
  SequenceStepInput s;
  s.seq = seq;
  s.tokens = std::move(tokens);
  s.start_pos = start_pos;
  const KvPoolOptions& o = pool.options();
  for (int64_t l = 0; l < o.num_layers; ++l) {
    for (int64_t h = 0; h < o.num_kv_heads; ++h) s.lanes.push_back(pool.lane(seq, l, h));
  }
  return s;
}

std::vector<int32_t> iota_positions(int64_t begin, int64_t n) {
  std::vector<int32_t> p;
  for (int64_t i = 0; i < n; ++i) p.push_back(static_cast<int32_t>(begin + i));
  return p;
}

}  // namespace

TEST_CASE("kv entries: written rows read back and stay in their lane", "[engine][kv_entries]") {
  auto w = testing::load_tiny_weights("gqa2-untied-rg");
  testing::EngineRig rig = testing::make_engine_rig(w, 64, 4);
  const int64_t L = w->config.num_hidden_layers, Hkv = w->config.num_key_value_heads;
  const int64_t D = w->config.head_dim;
  const int64_t n = 10;  // spans three pages of 4, the last one partly
  REQUIRE(rig.pool->add_sequence(1, {}).ok());
  REQUIRE(rig.pool->add_sequence(2, {}).ok());
  REQUIRE(rig.pool->reserve(1, n).ok());
  REQUIRE(rig.pool->reserve(2, n).ok());

  for (SeqId seq : {SeqId{1}, SeqId{2}}) {
    for (int64_t l = 0; l < L; ++l) {
      for (int64_t h = 0; h < Hkv; ++h) {
        const Rows rows = pattern_rows(l * Hkv + h, n, D, static_cast<float>(seq) * 0.5f);
        rig.engine->write_entries(rig.pool->lane(seq, l, h), 0, rows.k, rows.v);
      }
    }
  }
  for (SeqId seq : {SeqId{1}, SeqId{2}}) {
    for (int64_t l = 0; l < L; ++l) {
      for (int64_t h = 0; h < Hkv; ++h) {
        const Rows want = pattern_rows(l * Hkv + h, n, D, static_cast<float>(seq) * 0.5f);
        const Rows got = read(*rig.engine, rig.pool->lane(seq, l, h), 0, n);
        CHECK(got.k == want.k);
        CHECK(got.v == want.v);
      }
    }
  }

  SECTION("a sub-range crossing a page boundary") {
    const LaneView lane = rig.pool->lane(1, 1, 1);
    const Rows patch = pattern_rows(99, 5, D, 7.0f);
    rig.engine->write_entries(lane, 3, patch.k, patch.v);  // entries 3..7: pages 0, 1
    const Rows all = read(*rig.engine, lane, 0, n);
    const Rows before = pattern_rows(1 * Hkv + 1, n, D, 0.5f);
    for (int64_t i = 0; i < n; ++i) {
      const bool patched = i >= 3 && i < 8;
      for (int64_t c = 0; c < D; ++c) {
        const size_t at = static_cast<size_t>(i * D + c);
        const size_t from = static_cast<size_t>((i - 3) * D + c);
        CHECK(all.k[at] == (patched ? patch.k[from] : before.k[at]));
        CHECK(all.v[at] == (patched ? patch.v[from] : before.v[at]));
      }
    }
    CHECK(read(*rig.engine, lane, 3, 5).k == patch.k);
  }

  SECTION("the room past len up to capacity is writable") {
    const LaneView lane = rig.pool->lane(2, 0, 0);
    REQUIRE(lane.len == 0);
    const int64_t capacity = lane.num_pages * rig.engine->page_size();
    REQUIRE(capacity == 12);
    const Rows tail = pattern_rows(5, 2, D, 3.0f);
    rig.engine->write_entries(lane, capacity - 2, tail.k, tail.v);
    CHECK(read(*rig.engine, lane, capacity - 2, 2).v == tail.v);
    CHECK(read(*rig.engine, lane, 0, 0).k.empty());
  }
}

TEST_CASE("kv entries: after a prefill step they are the rows KvStorage holds",
          "[engine][kv_entries]") {
  auto w = testing::load_tiny_weights("gqa2-untied-rg");
  testing::EngineRig rig = testing::make_engine_rig(w, 64, 4);
  const int64_t L = w->config.num_hidden_layers, Hkv = w->config.num_key_value_heads;
  const int64_t D = w->config.head_dim;
  const std::vector<int32_t> prompt = {5, 17, 3, 250, 42, 8, 99, 1, 63, 7, 120};
  const int64_t T = static_cast<int64_t>(prompt.size());
  REQUIRE(rig.pool->add_sequence(1, {}).ok());
  REQUIRE(rig.pool->reserve(1, T).ok());
  StepInput in;
  in.seqs.push_back(step_input(*rig.pool, 1, prompt, 0));
  auto out = rig.engine->step(in);
  REQUIRE(out.ok());
  rig.pool->append(1, iota_positions(0, T), out->seqs[0].log_beta);

  const cpu::KvStorage& storage = rig.engine->storage();
  for (int64_t l = 0; l < L; ++l) {
    for (int64_t h = 0; h < Hkv; ++h) {
      const LaneView lane = rig.pool->lane(1, l, h);
      REQUIRE(lane.len == T);
      for (int64_t begin : {int64_t{0}, int64_t{3}}) {
        const Rows got = read(*rig.engine, lane, begin, T - begin);
        for (int64_t i = begin; i < T; ++i) {
          const auto at = static_cast<size_t>((i - begin) * D);
          CHECK(std::vector<float>(got.k.begin() + at, got.k.begin() + at + D) ==
                std::vector<float>(storage.k_entry(lane, i), storage.k_entry(lane, i) + D));
          CHECK(std::vector<float>(got.v.begin() + at, got.v.begin() + at + D) ==
                std::vector<float>(storage.v_entry(lane, i), storage.v_entry(lane, i) + D));
        }
      }
      // Real K rows are not all zero (the step wrote them).
      const Rows all = read(*rig.engine, lane, 0, T);
      CHECK(std::any_of(all.k.begin(), all.k.end(), [](float x) { return x != 0.0f; }));
    }
  }
}

TEST_CASE("kv entries: a sequence rebuilt from copied rows decodes identically",
          "[engine][kv_entries]") {
  auto w = testing::load_tiny_weights("gqa2-untied-rg");
  testing::EngineRig rig = testing::make_engine_rig(w, 128, 4);
  const int64_t L = w->config.num_hidden_layers, Hkv = w->config.num_key_value_heads;
  const std::vector<int32_t> prompt = {11, 48, 85, 122, 159, 196, 233, 14, 51};
  const int64_t T = static_cast<int64_t>(prompt.size());

  // Sequence 1: a real prefill.
  REQUIRE(rig.pool->add_sequence(1, {}).ok());
  REQUIRE(rig.pool->reserve(1, T).ok());
  StepInput prefill;
  prefill.seqs.push_back(step_input(*rig.pool, 1, prompt, 0));
  auto pre = rig.engine->step(prefill);
  REQUIRE(pre.ok());
  rig.pool->append(1, iota_positions(0, T), pre->seqs[0].log_beta);

  // Sequence 2: the same entries, copied row by row as a session restore would.
  REQUIRE(rig.pool->add_sequence(2, {}).ok());
  REQUIRE(rig.pool->reserve(2, T).ok());
  for (int64_t l = 0; l < L; ++l) {
    for (int64_t h = 0; h < Hkv; ++h) {
      const Rows rows = read(*rig.engine, rig.pool->lane(1, l, h), 0, T);
      rig.engine->write_entries(rig.pool->lane(2, l, h), 0, rows.k, rows.v);
    }
  }
  rig.pool->append(2, iota_positions(0, T), pre->seqs[0].log_beta);

  // One decode step of each, in the same batch.
  REQUIRE(rig.pool->reserve(1, 1).ok());
  REQUIRE(rig.pool->reserve(2, 1).ok());
  StepInput decode;
  decode.seqs.push_back(step_input(*rig.pool, 1, {77}, T));
  decode.seqs.push_back(step_input(*rig.pool, 2, {77}, T));
  auto out = rig.engine->step(decode);
  REQUIRE(out.ok());
  CHECK(out->seqs[0].logits == out->seqs[1].logits);
  CHECK(out->seqs[0].log_beta == out->seqs[1].log_beta);
}
