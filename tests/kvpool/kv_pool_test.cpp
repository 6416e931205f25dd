// KvPool facade: argument validation, reserve/release accounting, stats, and small
// hand-computed compressions that pin the score convention and the tie-break rule.
#include "kvpool/kv_pool.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "kvpool/retention_score.h"

using namespace trimserve;

namespace {

std::unique_ptr<KvPool> make_pool(int64_t pages, int64_t b, int64_t layers, int64_t heads) {
  auto pool = KvPool::create({pages, b, layers, heads});
  REQUIRE(pool.ok());
  return std::move(pool).value();
}

SequenceKvConfig config(KvPolicy policy, int64_t budget, int64_t buffer = 0,
                        double floor_ratio = 0.0, int64_t sinks = 0) {
  SequenceKvConfig c;
  c.policy = policy;
  c.budget = budget;
  c.buffer = buffer;
  c.floor_ratio = floor_ratio;
  c.window_sinks = sinks;
  return c;
}

// One engine step: reserve, append T tokens at the given positions with log_beta [T, L, Hkv].
void step(KvPool& pool, SeqId seq, const std::vector<int32_t>& pos, const std::vector<float>& lb) {
  REQUIRE(pool.reserve(seq, static_cast<int64_t>(pos.size())).ok());
  pool.append(seq, pos, lb);
}

}  // namespace

TEST_CASE("KvPool::create validates options", "[kvpool]") {
  CHECK(KvPool::create({0, 16, 1, 1}).status().code() == ErrorCode::kInvalidArgument);
  CHECK(KvPool::create({4, 0, 1, 1}).status().code() == ErrorCode::kInvalidArgument);
  CHECK(KvPool::create({4, 16, 0, 1}).status().code() == ErrorCode::kInvalidArgument);
  CHECK(KvPool::create({4, 16, 1, 0}).status().code() == ErrorCode::kInvalidArgument);
  auto ok = KvPool::create({4, 16, 2, 3});
  REQUIRE(ok.ok());
  CHECK((*ok)->options().num_kv_heads == 3);
  CHECK((*ok)->stats().pages_total == 4);
}

TEST_CASE("add_sequence validates the sequence config", "[kvpool]") {
  auto pool = make_pool(8, 4, 1, 1);
  auto code = [&](SeqId id, const SequenceKvConfig& c) { return pool->add_sequence(id, c).code(); };
  CHECK(code(1, config(KvPolicy::kTrimKv, 0)) == ErrorCode::kInvalidArgument);
  CHECK(code(1, config(KvPolicy::kWindow, 0)) == ErrorCode::kInvalidArgument);
  CHECK(code(1, config(KvPolicy::kTrimKvGlobal, -3)) == ErrorCode::kInvalidArgument);
  CHECK(code(1, config(KvPolicy::kTrimKv, 4, -1)) == ErrorCode::kInvalidArgument);
  CHECK(code(1, config(KvPolicy::kWindow, 4, 0, 0.0, 4)) == ErrorCode::kInvalidArgument);
  CHECK(code(1, config(KvPolicy::kWindow, 4, 0, 0.0, -1)) == ErrorCode::kInvalidArgument);
  CHECK(code(1, config(KvPolicy::kTrimKvGlobal, 4, 0, 1.0)) == ErrorCode::kInvalidArgument);
  CHECK(code(1, config(KvPolicy::kTrimKvGlobal, 4, 0, -0.1)) == ErrorCode::kInvalidArgument);
  CHECK(code(1, config(KvPolicy::kTrimKvGlobal, 4, 0, std::nan(""))) ==
        ErrorCode::kInvalidArgument);
  CHECK(code(1, config(KvPolicy::kTrimKv, int64_t{1} << 40)) == ErrorCode::kInvalidArgument);
  const Status st = pool->add_sequence(1, config(KvPolicy::kWindow, 4, 0, 0.0, 4));
  CHECK(st.message().find("window_sinks") != std::string::npos);
  CHECK(pool->add_sequence(1, config(KvPolicy::kTrimKv, 0)).message().find("budget") !=
        std::string::npos);
  CHECK(pool->add_sequence(1, config(KvPolicy::kTrimKvGlobal, 4, 0, 2.0))
            .message()
            .find("floor_ratio") != std::string::npos);
  CHECK_FALSE(pool->has_sequence(1));

  // Valid: full ignores budget; sinks are only checked for window; 0 sinks is allowed.
  CHECK(pool->add_sequence(1, config(KvPolicy::kFull, 0)).ok());
  CHECK(pool->add_sequence(2, config(KvPolicy::kTrimKv, 2, 0, 0.0, 4)).ok());
  CHECK(pool->add_sequence(3, config(KvPolicy::kWindow, 4, 0, 0.0, 0)).ok());
  CHECK(pool->add_sequence(4, config(KvPolicy::kTrimKvGlobal, 4, 2, 0.5)).ok());
  CHECK(code(1, config(KvPolicy::kFull, 0)) == ErrorCode::kFailedPrecondition);
  CHECK(pool->stats().num_sequences == 4);
}

TEST_CASE("reserve is all-or-nothing when the pool is nearly full", "[kvpool]") {
  // 2 layers x 2 heads = 4 lanes, B = 4, 10 pages.
  auto pool = make_pool(10, 4, 2, 2);
  REQUIRE(pool->add_sequence(1, config(KvPolicy::kFull, 0)).ok());
  REQUIRE(pool->add_sequence(2, config(KvPolicy::kFull, 0)).ok());
  CHECK(pool->pages_needed(1, 5) == 8);  // 2 pages per lane
  REQUIRE(pool->reserve(1, 5).ok());
  CHECK(pool->stats().pages_used == 8);
  CHECK(pool->pages_needed(1, 8) == 0);  // capacity 8 per lane already
  CHECK(pool->reserve(1, 8).ok());
  CHECK(pool->stats().pages_used == 8);

  // Seq 2 needs 4 pages (one per lane), only 2 free: nothing may be taken.
  const Status st = pool->reserve(2, 1);
  CHECK(st.code() == ErrorCode::kResourceExhausted);
  CHECK(st.message().find("needs 4 pages") != std::string::npos);
  CHECK(st.message().find("2 free") != std::string::npos);
  CHECK(pool->stats().pages_used == 8);
  for (int l = 0; l < 2; ++l) {
    for (int h = 0; h < 2; ++h) CHECK(pool->lane(2, l, h).num_pages == 0);
  }
  CHECK(pool->check_invariants().ok());

  // Far beyond the pool, and bad arguments.
  CHECK(pool->reserve(2, int64_t{1} << 50).code() == ErrorCode::kResourceExhausted);
  CHECK(pool->reserve(2, -1).code() == ErrorCode::kInvalidArgument);
  CHECK(pool->reserve(99, 1).code() == ErrorCode::kNotFound);

  // Releasing seq 1 returns everything it held; then seq 2 fits.
  const std::vector<PageId> freed = pool->release(1);
  CHECK(freed.size() == 8);
  CHECK(pool->stats().pages_used == 0);
  CHECK(pool->release(1).empty());
  CHECK_FALSE(pool->has_sequence(1));
  CHECK(pool->reserve(2, 1).ok());
  CHECK(pool->stats().pages_used == 4);
  CHECK(pool->check_invariants().ok());
}

TEST_CASE("append fills lane views and stats", "[kvpool]") {
  auto pool = make_pool(16, 2, 1, 2);
  REQUIRE(pool->add_sequence(5, config(KvPolicy::kFull, 0)).ok());
  // T = 3 tokens, log_beta [T, L=1, Hkv=2].
  step(*pool, 5, {0, 1, 2}, {-0.1f, -0.2f, -0.3f, -0.4f, -0.5f, -0.6f});
  CHECK(pool->lane(5, 0, 0).len == 3);
  CHECK(pool->lane(5, 0, 0).num_pages == 2);
  CHECK(pool->lane_positions(5, 0, 1) == std::vector<int32_t>{0, 1, 2});
  CHECK(pool->lane_log_beta(5, 0, 0) == std::vector<float>{-0.1f, -0.3f, -0.5f});
  CHECK(pool->lane_log_beta(5, 0, 1) == std::vector<float>{-0.2f, -0.4f, -0.6f});
  CHECK(pool->compress(5).empty());  // full never evicts
  const SequenceKvStats s = pool->sequence_stats(5);
  CHECK(s.retained == 6);
  CHECK(s.offered == 6);
  CHECK(s.num_processed == 3);
  CHECK(s.num_compressions == 0);
  CHECK(pool->check_invariants().ok());
}

TEST_CASE("trimkv keeps the top-M by (q - pos) * logβ with q = processed + 1", "[kvpool]") {
  auto pool = make_pool(8, 2, 1, 1);
  REQUIRE(pool->add_sequence(1, config(KvPolicy::kTrimKv, 2)).ok());
  // q = 4: scores -4, -0.3, -1 -> keep pos 1 and 2.
  step(*pool, 1, {0, 1, 2}, {-1.0f, -0.1f, -0.5f});
  const LaneView before = pool->lane(1, 0, 0);
  const std::vector<PageId> pages(before.pages, before.pages + before.num_pages);
  const CompactionPlan plan = pool->compress(1);
  CHECK(pool->lane_positions(1, 0, 0) == std::vector<int32_t>{1, 2});
  CHECK(pool->lane_log_beta(1, 0, 0) == std::vector<float>{-0.1f, -0.5f});
  REQUIRE(plan.moves.size() == 2);
  CHECK((plan.moves[0].src_page == pages[0] && plan.moves[0].src_slot == 1));
  CHECK((plan.moves[0].dst_page == pages[0] && plan.moves[0].dst_slot == 0));
  CHECK((plan.moves[1].src_page == pages[1] && plan.moves[1].src_slot == 0));
  CHECK((plan.moves[1].dst_page == pages[0] && plan.moves[1].dst_slot == 1));
  CHECK(plan.freed_pages == std::vector<PageId>{pages[1]});
  CHECK(plan.num_evicted == 1);
  CHECK(pool->stats().evicted_by(EvictionReason::kBudget) == 1);
  CHECK(pool->stats().pages_used == 1);
  const SequenceKvStats s = pool->sequence_stats(1);
  CHECK(s.num_compressions == 1);
  CHECK(s.retained == 2);
  CHECK(s.offered == 3);
  CHECK(pool->check_invariants().ok());

  // Equal scores (logβ = 0): the larger position wins.
  step(*pool, 1, {3}, {0.0f});
  CHECK(pool->compress(1).num_evicted == 1);  // q = 5: 1 -> -0.4, 2 -> -1.5, 3 -> 0
  CHECK(pool->lane_positions(1, 0, 0) == std::vector<int32_t>{1, 3});
}

TEST_CASE("equal logβ ties go to the larger position", "[kvpool]") {
  auto pool = make_pool(8, 4, 1, 1);
  REQUIRE(pool->add_sequence(1, config(KvPolicy::kTrimKv, 2)).ok());
  step(*pool, 1, {0, 1, 2, 3}, {0.0f, 0.0f, 0.0f, 0.0f});
  pool->compress(1);
  CHECK(pool->lane_positions(1, 0, 0) == std::vector<int32_t>{2, 3});
}

TEST_CASE("global ties on (score, pos) go to the smaller layer, then head", "[kvpool]") {
  // 2 layers x 2 heads, M = 1 -> K = 4 of 8 entries (T = 2, pos 0 and 1), q = 3.
  auto pool = make_pool(16, 2, 2, 2);
  REQUIRE(pool->add_sequence(1, config(KvPolicy::kTrimKvGlobal, 1)).ok());
  // Lane (1,1) pos 1 scores 0 (kept). Every other pos-1 entry scores -10, every pos-0 entry -3:
  // three of the four -3 ties survive, and (1,1) loses.
  std::vector<float> lb(8);
  for (int lane = 0; lane < 4; ++lane) {
    lb[static_cast<size_t>(0 * 4 + lane)] = -1.0f;                     // pos 0: (3-0)*-1 = -3
    lb[static_cast<size_t>(1 * 4 + lane)] = lane == 3 ? 0.0f : -5.0f;  // pos 1
  }
  step(*pool, 1, {0, 1}, lb);
  const CompactionPlan plan = pool->compress(1);
  CHECK(plan.num_evicted == 4);
  CHECK(pool->lane_positions(1, 0, 0) == std::vector<int32_t>{0});
  CHECK(pool->lane_positions(1, 0, 1) == std::vector<int32_t>{0});
  CHECK(pool->lane_positions(1, 1, 0) == std::vector<int32_t>{0});
  CHECK(pool->lane_positions(1, 1, 1) == std::vector<int32_t>{1});
  CHECK(pool->check_invariants().ok());
}

TEST_CASE("window keeps sinks and the most recent entries", "[kvpool]") {
  auto pool = make_pool(16, 3, 1, 1);
  REQUIRE(pool->add_sequence(1, config(KvPolicy::kWindow, 4, 2, 0.0, 1)).ok());
  step(*pool, 1, {0, 1, 2, 3, 4}, std::vector<float>(5, -0.1f));
  CHECK(pool->compress(1).empty());  // 5 < M + buffer = 6
  CHECK(pool->sequence_stats(1).num_compressions == 0);
  step(*pool, 1, {5, 6}, std::vector<float>(2, -0.1f));
  CHECK(pool->compress(1).num_evicted == 3);
  CHECK(pool->lane_positions(1, 0, 0) == std::vector<int32_t>{0, 4, 5, 6});
  CHECK(pool->check_invariants().ok());
}

TEST_CASE("trimkv-global floor gives each lane floor(M*r) of its own", "[kvpool]") {
  // 1 layer x 2 heads, M = 4, r = 0.5: K = 8, K' = 4, floor 2 per lane.
  auto pool = make_pool(32, 4, 1, 2);
  REQUIRE(pool->add_sequence(1, config(KvPolicy::kTrimKvGlobal, 4, 0, 0.5)).ok());
  // Lane 0 scores far better than lane 1, so the global top-4 all come from lane 0:
  // shares 4 + 2 = 6 and 0 + 2 = 2.
  std::vector<int32_t> pos;
  std::vector<float> lb;
  for (int t = 0; t < 8; ++t) {
    pos.push_back(t);
    lb.push_back(-static_cast<float>(t + 1) / 1024.0f);   // lane 0, exact in binary
    lb.push_back(-1.0f - 0.01f * static_cast<float>(t));  // lane 1
  }
  step(*pool, 1, pos, lb);
  const CompactionPlan plan = pool->compress(1);
  CHECK(plan.num_evicted == 8);
  // Lane 0, q = 9: score -(9-t)(t+1)/1024 -> t = 0..7 give 9,16,21,24,25,24,21,16 (x -1/1024).
  // Top-6: t = 0, 1, 7, 2, 6, then the exact tie t = 3 vs t = 5 goes to the larger pos.
  CHECK(pool->lane_positions(1, 0, 0) == std::vector<int32_t>{0, 1, 2, 5, 6, 7});
  // Lane 1: score (9-t)*-(1+0.01t): t = 7 -> -2.14, t = 6 -> -3.18 are the best two.
  CHECK(pool->lane_positions(1, 0, 1) == std::vector<int32_t>{6, 7});
  CHECK(pool->check_invariants().ok());
}

TEST_CASE("retention_score ranks NaN as -inf and keeps the order total", "[kvpool]") {
  const double nan_score = retention_score(5, 5, -std::numeric_limits<float>::infinity());
  CHECK(std::isinf(nan_score));
  CHECK(nan_score < 0);
  CHECK(retention_score(5, 1, std::nanf("")) < -1e300);
  CHECK(retention_score(10, 4, -0.5f) == -3.0);
  ScoredEntry a{-1.0, 3, 0, 0}, b{-1.0, 2, 0, 1}, c{-1.0, 3, 1, 0};
  CHECK(ranks_before(a, b));
  CHECK(ranks_before(a, c));
  CHECK_FALSE(ranks_before(a, a));
}
