// KvPool::reclaim (global pressure) and the per-reason eviction counters, on small
// hand-computed cases: which entries go first across sequences, idle decay, protected entries
// of running sequences, policies that never shed entries, and restore_sequence.
#include <catch2/catch.hpp>
#include <vector>

#include "kvpool/kv_pool.h"

using namespace trimserve;

namespace {

// One layer, one kv-head, page size 1: every evicted entry frees exactly one page, so the
// expected victims are easy to state.
std::unique_ptr<KvPool> make_pool(int64_t pages, double decay = 0.0, int64_t sinks = 0,
                                  int64_t recent = 0) {
  KvPoolOptions o;
  o.num_pages = pages;
  o.page_size = 1;
  o.num_layers = 1;
  o.num_kv_heads = 1;
  o.idle_decay_per_s = decay;
  o.protected_sinks = sinks;
  o.protected_recent = recent;
  auto pool = KvPool::create(o);
  REQUIRE(pool.ok());
  return std::move(pool).value();
}

SequenceKvConfig trimkv(int64_t budget) {
  SequenceKvConfig c;
  c.policy = KvPolicy::kTrimKv;
  c.budget = budget;
  return c;
}

// Appends entries at positions 0..n-1 with the given logβ (one lane).
void fill(KvPool& pool, SeqId seq, const std::vector<float>& log_beta) {
  const auto n = static_cast<int64_t>(log_beta.size());
  REQUIRE(pool.reserve(seq, n).ok());
  std::vector<int32_t> pos(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) pos[static_cast<size_t>(i)] = static_cast<int32_t>(i);
  pool.append(seq, pos, log_beta);
}

ReclaimTarget free_pages(int64_t n, bool idle_only = false) {
  ReclaimTarget t;
  t.min_free_pages = n;
  t.idle_only = idle_only;
  return t;
}

}  // namespace

TEST_CASE("reclaim takes the lowest scores across sequences", "[kvpool][reclaim]") {
  auto pool = make_pool(8);
  REQUIRE(pool->add_sequence(1, trimkv(100)).ok());
  REQUIRE(pool->add_sequence(2, trimkv(100)).ok());
  // q = 5 for both: scores (5 - pos) * logβ.
  fill(*pool, 1, {-1.0f, -0.1f, -0.5f, -0.01f});  // -5, -0.4, -1.5, -0.02
  fill(*pool, 2, {-0.2f, -2.0f, -0.05f, -0.3f});  // -1.0, -8, -0.15, -0.6
  REQUIRE(pool->num_free_pages() == 0);

  CompactionPlan plan;
  CHECK(pool->reclaim(free_pages(3), 0.0, plan) == 3);
  CHECK(pool->num_free_pages() == 3);
  CHECK(plan.num_evicted == 3);
  CHECK(plan.freed_pages.size() == 3);
  // Gone: seq 2 pos 1 (-8), seq 1 pos 0 (-5), seq 1 pos 2 (-1.5).
  CHECK(pool->lane_positions(1, 0, 0) == std::vector<int32_t>{1, 3});
  CHECK(pool->lane_positions(2, 0, 0) == std::vector<int32_t>{0, 2, 3});
  CHECK(pool->stats().evicted_by(EvictionReason::kGlobalPressure) == 3);
  CHECK(pool->sequence_stats(1).retained == 2);
  CHECK(pool->check_invariants().ok());

  // Already satisfied: nothing happens.
  CompactionPlan none;
  CHECK(pool->reclaim(free_pages(2), 0.0, none) == 0);
  CHECK(none.empty());
}

TEST_CASE("idle sessions decay and lose entries first", "[kvpool][reclaim]") {
  auto pool = make_pool(6, /*decay=*/0.5);
  REQUIRE(pool->add_sequence(1, trimkv(100)).ok());
  REQUIRE(pool->add_sequence(2, trimkv(100)).ok());
  fill(*pool, 1, {-0.1f, -0.1f, -0.1f});  // q = 4: -0.3, -0.2, -0.1
  fill(*pool, 2, {-1.0f, -1.0f, -1.0f});  // -3, -2, -1
  pool->set_idle(1, 100.0);
  CHECK(pool->is_idle(1));
  // At t = 110 the idle sequence's scores are 5 lower: -5.3, -5.2, -5.1 < -3.
  CompactionPlan plan;
  CHECK(pool->reclaim(free_pages(2), 110.0, plan) == 2);
  CHECK(pool->lane_positions(1, 0, 0) == std::vector<int32_t>{2});
  CHECK(pool->lane_positions(2, 0, 0) == std::vector<int32_t>{0, 1, 2});
  const KvPoolStats st = pool->stats();
  CHECK(st.num_idle == 1);
  CHECK(st.entries_idle == 1);
  CHECK(st.entries_running == 3);
  CHECK(st.pages_idle == 1);

  // Without decay time the running sequence's lower scores go first.
  pool->set_running(1);
  CompactionPlan plan2;
  CHECK(pool->reclaim(free_pages(3), 110.0, plan2) == 1);
  CHECK(pool->lane_positions(2, 0, 0) == std::vector<int32_t>{1, 2});
}

TEST_CASE("reclaim never takes a running sequence's sinks or recent window", "[kvpool][reclaim]") {
  auto pool = make_pool(10, 0.0, /*sinks=*/1, /*recent=*/2);
  REQUIRE(pool->add_sequence(1, trimkv(100)).ok());
  fill(*pool, 1, {-9.0f, -9.0f, -0.1f, -9.0f, -9.0f, -9.0f});
  CompactionPlan plan;
  // Only positions 1..3 are candidates; asking for more than they free stops there.
  CHECK(pool->reclaim(free_pages(10), 0.0, plan) == 3);
  CHECK(pool->lane_positions(1, 0, 0) == std::vector<int32_t>{0, 4, 5});
  // Idle: nothing is protected.
  pool->set_idle(1, 0.0);
  CompactionPlan plan2;
  CHECK(pool->reclaim(free_pages(10), 0.0, plan2) == 3);
  CHECK(pool->lane_positions(1, 0, 0).empty());
  CHECK(pool->check_invariants().ok());
}

TEST_CASE("reclaim scope: idle only, idle page cap, policies without scores", "[kvpool][reclaim]") {
  auto pool = make_pool(12);
  SequenceKvConfig full;
  full.policy = KvPolicy::kFull;
  REQUIRE(pool->add_sequence(1, trimkv(100)).ok());
  REQUIRE(pool->add_sequence(2, trimkv(100)).ok());
  REQUIRE(pool->add_sequence(3, full).ok());
  fill(*pool, 1, {-5.0f, -5.0f, -5.0f});
  fill(*pool, 2, {-0.1f, -0.1f, -0.1f});
  fill(*pool, 3, {-9.0f, -9.0f, -9.0f});
  pool->set_idle(2, 0.0);
  pool->set_idle(3, 0.0);

  CompactionPlan plan;
  CHECK(pool->reclaim(free_pages(5, /*idle_only=*/true), 0.0, plan) == 2);
  CHECK(pool->lane_positions(1, 0, 0).size() == 3);  // running: out of scope
  CHECK(pool->lane_positions(2, 0, 0) == std::vector<int32_t>{2});
  CHECK(pool->lane_positions(3, 0, 0).size() == 3);  // full never sheds entries

  ReclaimTarget cap;
  cap.max_idle_pages = 3;
  cap.idle_only = true;
  cap.reason = EvictionReason::kSessionLimit;
  CompactionPlan plan2;
  CHECK(pool->reclaim(cap, 0.0, plan2) == 1);
  CHECK(pool->stats().pages_idle == 3);
  CHECK(pool->stats().evicted_by(EvictionReason::kSessionLimit) == 1);
  CHECK(pool->stats().evicted_by(EvictionReason::kGlobalPressure) == 2);

  // Whole-sequence evictions are counted by reason; a plain release is not an eviction.
  pool->evict_sequence(3, EvictionReason::kSessionExpired);
  pool->release(1);
  const KvPoolStats st = pool->stats();
  CHECK(st.evicted_by(EvictionReason::kSessionExpired) == 3);
  CHECK(st.evicted_by(EvictionReason::kPreempted) == 0);
  CHECK(st.num_sequences == 1);
  CHECK(std::string(eviction_reason_name(EvictionReason::kSessionLimit)) == "session_limit");
}

TEST_CASE("reclaim frees reserved pages of a touched lane and spans page boundaries",
          "[kvpool][reclaim]") {
  KvPoolOptions o;
  o.num_pages = 8;
  o.page_size = 4;
  o.num_layers = 1;
  o.num_kv_heads = 2;
  o.protected_sinks = 0;
  o.protected_recent = 0;
  auto pool = std::move(KvPool::create(o)).value();
  REQUIRE(pool->add_sequence(1, trimkv(100)).ok());
  // 5 entries per lane: 2 pages each; lane 1 scores lower everywhere.
  REQUIRE(pool->reserve(1, 5).ok());
  std::vector<float> lb;
  for (int t = 0; t < 5; ++t) {
    lb.push_back(-0.01f);
    lb.push_back(-1.0f);
  }
  pool->append(1, std::vector<int32_t>{0, 1, 2, 3, 4}, lb);
  REQUIRE(pool->num_free_pages() == 4);
  CompactionPlan plan;
  // One more page: lane 1 must drop to 4 entries; its lowest-scored entry is pos 0.
  CHECK(pool->reclaim(free_pages(5), 0.0, plan) == 1);
  CHECK(pool->lane_positions(1, 0, 1) == std::vector<int32_t>{1, 2, 3, 4});
  CHECK(plan.moves.size() == 4);
  CHECK(pool->num_free_pages() == 5);
  CHECK(pool->check_invariants().ok());
}

TEST_CASE("restore_sequence rebuilds a sequence from saved metadata", "[kvpool][reclaim]") {
  KvPoolOptions o;
  o.num_pages = 6;
  o.page_size = 2;
  o.num_layers = 1;
  o.num_kv_heads = 2;
  auto pool = std::move(KvPool::create(o)).value();
  const std::vector<int32_t> p0{0, 3, 5}, p1{4};
  const std::vector<float> b0{-0.1f, -0.2f, -0.3f}, b1{-0.4f};
  const std::vector<LaneEntries> lanes{{p0, b0}, {p1, b1}};
  REQUIRE(pool->restore_sequence(7, trimkv(3), 6, lanes).ok());
  CHECK(pool->lane_positions(7, 0, 0) == p0);
  CHECK(pool->lane_log_beta(7, 0, 1) == b1);
  CHECK(pool->sequence_stats(7).num_processed == 6);
  CHECK(pool->sequence_stats(7).retained == 4);
  CHECK(pool->lane(7, 0, 0).num_pages == 2);
  CHECK(pool->check_invariants().ok());

  CHECK(pool->restore_sequence(7, trimkv(3), 6, lanes).code() == ErrorCode::kFailedPrecondition);
  CHECK(pool->restore_sequence(8, trimkv(3), 5, lanes).code() == ErrorCode::kInvalidArgument);
  CHECK(pool->restore_sequence(8, trimkv(3), 6, std::vector<LaneEntries>{{p0, b0}}).code() ==
        ErrorCode::kInvalidArgument);
  // 3 pages left; a 4-page sequence does not fit and nothing changes.
  const std::vector<int32_t> big{0, 1, 2, 3, 4};
  const std::vector<float> bigb(5, -0.1f);
  CHECK(pool->restore_sequence(8, trimkv(3), 6, std::vector<LaneEntries>{{big, bigb}, {p1, b1}})
            .code() == ErrorCode::kResourceExhausted);
  CHECK(!pool->has_sequence(8));
  CHECK(pool->num_free_pages() == 3);
}
