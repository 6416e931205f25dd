// KvPool::truncate (session rollback): random sequences under every policy, truncated at random
// positions; the lanes must hold exactly the surviving entries with pos < p in their order, the
// plan's moves must carry the fake storage along, pages past each lane's end are freed,
// num_processed becomes p, and the sequence keeps working afterwards.
#include "kvpool/kv_pool.h"

#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <utility>
#include <vector>

using namespace trimserve;

namespace {

// Fake engine storage: (page, slot) -> the unique logβ the entry was appended with.
using Storage = std::map<std::pair<PageId, int32_t>, float>;

struct Rig {
  std::unique_ptr<KvPool> pool;
  Storage storage;
  int64_t L, H, B;
  float next_id = -1.0f;

  void step(SeqId seq, const std::vector<int32_t>& pos) {
    const auto T = static_cast<int64_t>(pos.size());
    REQUIRE(pool->reserve(seq, T).ok());
    std::vector<float> lb(static_cast<size_t>(T * L * H));
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t l = 0; l < L * H; ++l) {
        const float id = next_id;
        next_id -= 1.0f / 1024;  // unique, exactly representable for this test's sizes
        lb[static_cast<size_t>(t * L * H + l)] = id;
        const LaneView v = pool->lane(seq, l / H, l % H);
        const int64_t i = v.len + t;
        storage[{v.pages[i / B], static_cast<int32_t>(i % B)}] = id;
      }
    }
    pool->append(seq, pos, lb);
  }

  void apply(const CompactionPlan& plan) {
    for (const EntryMove& m : plan.moves) {
      storage[{m.dst_page, m.dst_slot}] = storage.at({m.src_page, m.src_slot});
    }
  }

  // Every lane's storage holds the entries its metadata says, in order.
  void check_storage(SeqId seq) {
    for (int64_t l = 0; l < L * H; ++l) {
      const LaneView v = pool->lane(seq, l / H, l % H);
      const std::vector<float> lb = pool->lane_log_beta(seq, l / H, l % H);
      REQUIRE(static_cast<int64_t>(lb.size()) == v.len);
      for (int64_t i = 0; i < v.len; ++i) {
        CHECK(storage.at({v.pages[i / B], static_cast<int32_t>(i % B)}) == lb[static_cast<size_t>(i)]);
      }
    }
  }
};

void random_truncate(uint64_t seed) {
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  Rig rig;
  rig.L = uniform(1, 3);
  rig.H = uniform(1, 2);
  rig.B = uniform(1, 5);
  auto pool = KvPool::create({4096, rig.B, rig.L, rig.H});
  REQUIRE(pool.ok());
  rig.pool = std::move(*pool);
  SequenceKvConfig kv;
  kv.policy = static_cast<KvPolicy>(uniform(0, 3));
  kv.budget = uniform(2, 8);
  kv.buffer = uniform(0, 3);
  kv.window_sinks = uniform(0, kv.budget - 1);
  kv.floor_ratio = uniform(0, 1) ? 0.25 : 0.0;
  const bool random_positions = uniform(0, 4) == 0;
  INFO("policy " << kv_policy_name(kv.policy) << " random positions " << random_positions);
  const SeqId seq = 5;
  REQUIRE(rig.pool->add_sequence(seq, kv).ok());
  REQUIRE(rig.pool->add_sequence(6, kv).ok());  // a bystander that must not change
  rig.step(6, {0, 1, 2});

  for (int round = 0; round < 4; ++round) {
    const int64_t steps = uniform(1, 6);
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t n0 = rig.pool->sequence_stats(seq).num_processed;
      std::vector<int32_t> pos(static_cast<size_t>(uniform(1, 5)));
      for (size_t t = 0; t < pos.size(); ++t) {
        pos[t] = static_cast<int32_t>(random_positions ? uniform(0, n0 + static_cast<int64_t>(t))
                                                       : n0 + static_cast<int64_t>(t));
      }
      rig.step(seq, pos);
      rig.apply(rig.pool->compress(seq));
    }
    const SequenceKvStats before = rig.pool->sequence_stats(seq);
    const int64_t used_before = rig.pool->stats().pages_used;
    std::vector<std::vector<int32_t>> want_pos(static_cast<size_t>(rig.L * rig.H));
    std::vector<std::vector<float>> want_lb(want_pos.size());
    const int64_t p = uniform(0, before.num_processed);
    INFO("round " << round << " truncate at " << p << " of " << before.num_processed);
    int64_t dropped = 0;
    std::vector<int64_t> lane_dropped(want_pos.size(), 0);
    for (int64_t l = 0; l < rig.L * rig.H; ++l) {
      const auto pos = rig.pool->lane_positions(seq, l / rig.H, l % rig.H);
      const auto lb = rig.pool->lane_log_beta(seq, l / rig.H, l % rig.H);
      for (size_t i = 0; i < pos.size(); ++i) {
        if (pos[i] < p) {
          want_pos[static_cast<size_t>(l)].push_back(pos[i]);
          want_lb[static_cast<size_t>(l)].push_back(lb[i]);
        } else {
          ++dropped;
          ++lane_dropped[static_cast<size_t>(l)];
        }
      }
    }
    auto plan = rig.pool->truncate(seq, p);
    REQUIRE(plan.ok());
    rig.apply(*plan);
    CHECK(plan->num_evicted == dropped);
    if (!random_positions) CHECK(plan->moves.empty());  // increasing lanes lose a suffix
    REQUIRE(rig.pool->check_invariants().ok());
    int64_t pages = 0;
    for (int64_t l = 0; l < rig.L * rig.H; ++l) {
      CHECK(rig.pool->lane_positions(seq, l / rig.H, l % rig.H) == want_pos[static_cast<size_t>(l)]);
      CHECK(rig.pool->lane_log_beta(seq, l / rig.H, l % rig.H) == want_lb[static_cast<size_t>(l)]);
      const LaneView v = rig.pool->lane(seq, l / rig.H, l % rig.H);
      pages += v.num_pages;
      // A lane that lost entries keeps only the pages its survivors need.
      if (lane_dropped[static_cast<size_t>(l)] > 0) CHECK(v.num_pages == (v.len + rig.B - 1) / rig.B);
    }
    for (int64_t l = 0; l < rig.L * rig.H; ++l) pages += rig.pool->lane(6, l / rig.H, l % rig.H).num_pages;
    rig.check_storage(seq);
    rig.check_storage(6);
    const SequenceKvStats after = rig.pool->sequence_stats(seq);
    CHECK(after.num_processed == p);
    CHECK(after.retained == before.retained - dropped);
    CHECK(after.offered == before.offered);
    CHECK(rig.pool->stats().pages_used == used_before - static_cast<int64_t>(plan->freed_pages.size()));
    CHECK(rig.pool->stats().pages_used == pages);
    CHECK(rig.pool->sequence_stats(6).num_processed == 3);
  }
}

}  // namespace

TEST_CASE("truncate: errors", "[kvpool][truncate]") {
  auto pool = KvPool::create({16, 4, 1, 1});
  REQUIRE(pool.ok());
  KvPool& p = **pool;
  CHECK(p.truncate(1, 0).status().code() == ErrorCode::kNotFound);
  REQUIRE(p.add_sequence(1, SequenceKvConfig{}).ok());
  REQUIRE(p.reserve(1, 3).ok());
  p.append(1, std::vector<int32_t>{0, 1, 2}, std::vector<float>{-1, -2, -3});
  CHECK(p.truncate(1, -1).status().code() == ErrorCode::kOutOfRange);
  CHECK(p.truncate(1, 4).status().code() == ErrorCode::kOutOfRange);
  auto same = p.truncate(1, 3);
  REQUIRE(same.ok());
  CHECK(same->empty());
  auto all = p.truncate(1, 0);
  REQUIRE(all.ok());
  CHECK(all->num_evicted == 3);
  CHECK(all->freed_pages.size() == 1);
  CHECK(p.stats().pages_used == 0);
  CHECK(p.stats().truncated == 3);
  CHECK(p.sequence_stats(1).num_processed == 0);
  CHECK(p.check_invariants().ok());
}

TEST_CASE("truncate: random sequences and positions", "[kvpool][truncate]") {
  for (uint64_t seed = 1; seed <= 400; ++seed) random_truncate(seed);
}
