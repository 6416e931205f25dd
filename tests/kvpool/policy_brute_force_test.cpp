// Randomized differential test of KvPool against a brute-force model written here.
//
// Several sequences share one pool and are stepped in random interleavings with random step
// sizes (decode and prefill chunks), random positions and logβ (continuous, and drawn from a
// few values so ties are common). After every step:
//   - every lane of every sequence holds exactly the entries the brute force keeps (std::sort
//     over all candidates by the ranking rule, spelled out independently below), in order;
//   - a fake engine storage (entry id per page slot), updated only through lane views and
//     CompactionPlans, holds those same entries at each lane's slots;
//   - plans obey their ordering contract; budgets hold; reserve is all-or-nothing;
//   - no page is leaked or double-owned, and the stats match the model.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "kvpool/kv_pool.h"
#include "tests/kvpool/brute_force_model.h"

using namespace trimserve;
using namespace trimserve::kvpool_test;

namespace {

class Harness {
 public:
  Harness(uint64_t seed, int64_t layers, int64_t heads, int64_t page_size, int64_t num_pages)
      : rng_(seed), layers_(layers), heads_(heads), b_(page_size) {
    auto pool = KvPool::create({num_pages, page_size, layers, heads});
    REQUIRE(pool.ok());
    pool_ = std::move(pool).value();
    storage_.assign(static_cast<size_t>(num_pages * page_size), -1);
  }

  int64_t num_lanes() const { return layers_ * heads_; }
  std::mt19937_64& rng() { return rng_; }
  KvPool& pool() { return *pool_; }
  const std::map<SeqId, ModelSeq>& seqs() const { return seqs_; }

  int64_t uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  SequenceKvConfig random_config(KvPolicy policy) {
    static const double kRatios[] = {0.1, 0.25, 0.3, 0.5, 0.75, 0.9, 0.99};
    SequenceKvConfig c;
    c.policy = policy;
    c.budget = uniform(1, 12);
    c.buffer = chance(0.25) ? 0 : uniform(1, 8);
    c.window_sinks = uniform(0, c.budget - 1);
    c.floor_ratio = chance(0.4) ? 0.0 : kRatios[uniform(0, 6)];
    return c;
  }

  void add(SeqId id, const SequenceKvConfig& c) {
    REQUIRE(pool_->add_sequence(id, c).ok());
    ModelSeq m;
    m.config = c;
    m.beta_mode = static_cast<BetaMode>(uniform(0, 2));
    m.random_positions = chance(0.2);
    m.lanes.resize(static_cast<size_t>(num_lanes()));
    seqs_.emplace(id, std::move(m));
  }

  void release(SeqId id) {
    int64_t held = 0;
    for_each_lane(id, [&](int64_t, int64_t, const LaneView& v) { held += v.num_pages; });
    const int64_t used = pool_->stats().pages_used;
    const std::vector<PageId> freed = pool_->release(id);
    REQUIRE(static_cast<int64_t>(freed.size()) == held);
    REQUIRE(pool_->stats().pages_used == used - held);
    for (PageId p : freed) poison(p);
    seqs_.erase(id);
  }

  float random_log_beta(const ModelSeq& m, int64_t lane) {
    static const float kDiscrete[] = {0.0f, -0.25f, -0.5f, -1.0f};
    switch (m.beta_mode) {
      case BetaMode::kContinuous:
        return -std::uniform_real_distribution<float>(0.0f, 4.0f)(rng_);
      case BetaMode::kDiscrete:
        return kDiscrete[uniform(0, 3)];
      case BetaMode::kLaneSkewed:  // lanes differ by orders of magnitude: global mode goes ragged
        return -std::uniform_real_distribution<float>(0.0f, 1.0f)(rng_) *
               std::pow(4.0f, static_cast<float>(lane % 4) - 1.0f);
    }
    return 0.0f;
  }

  // One engine step of `id` with T tokens. Returns false when reserve was (correctly) refused.
  bool step(SeqId id, int64_t t) {
    ModelSeq& m = seqs_.at(id);
    std::vector<int64_t> pages_before;
    int64_t expect_need = 0;
    for_each_lane(id, [&](int64_t l, int64_t, const LaneView& v) {
      pages_before.push_back(v.num_pages);
      const int64_t want =
          (static_cast<int64_t>(m.lanes[static_cast<size_t>(l)].size()) + t + b_ - 1) / b_;
      expect_need += std::max<int64_t>(0, want - v.num_pages);
    });
    const int64_t used = pool_->stats().pages_used;
    const int64_t free = pool_->stats().pages_total - used;
    REQUIRE(pool_->pages_needed(id, t) == expect_need);
    const Status st = pool_->reserve(id, t);
    if (expect_need > free) {
      REQUIRE(st.code() == ErrorCode::kResourceExhausted);
      ++g_coverage.refused;
      // All-or-nothing: no lane gained a page.
      REQUIRE(pool_->stats().pages_used == used);
      for_each_lane(id, [&](int64_t l, int64_t, const LaneView& v) {
        REQUIRE(v.num_pages == pages_before[static_cast<size_t>(l)]);
      });
      return false;
    }
    REQUIRE(st.ok());
    REQUIRE(pool_->stats().pages_used == used + expect_need);

    // The engine writes the T new rows at [len, len + T) of every lane.
    std::vector<int32_t> positions(static_cast<size_t>(t));
    for (int64_t i = 0; i < t; ++i) {
      positions[static_cast<size_t>(i)] =
          m.random_positions ? static_cast<int32_t>(uniform(0, m.processed + t - 1))
                             : static_cast<int32_t>(m.processed + i);
    }
    std::vector<float> log_beta(static_cast<size_t>(t * num_lanes()));
    for_each_lane(id, [&](int64_t l, int64_t, const LaneView& v) {
      auto& lane = m.lanes[static_cast<size_t>(l)];
      REQUIRE(v.len == static_cast<int64_t>(lane.size()));
      REQUIRE(v.num_pages * b_ >= v.len + t);
      for (int64_t i = 0; i < t; ++i) {
        const int64_t idx = v.len + i;
        const float lb = random_log_beta(m, l);
        log_beta[static_cast<size_t>(i * num_lanes() + l)] = lb;
        const ModelEntry e{positions[static_cast<size_t>(i)], lb, next_id_++};
        slot(v.pages[idx / b_], idx % b_) = e.id;
        lane.push_back(e);
      }
    });
    pool_->append(id, positions, log_beta);
    m.processed += t;
    m.offered += t * num_lanes();
    compress(id);
    return true;
  }

  // Runs compress on pool and model; checks the plan, applies it to the fake storage.
  void compress(SeqId id) {
    ModelSeq& m = seqs_.at(id);
    // Page -> (lane, index of the page in the lane) before compress, to check moves.
    std::map<PageId, std::pair<int64_t, int64_t>> where;
    for_each_lane(id, [&](int64_t l, int64_t, const LaneView& v) {
      for (int64_t p = 0; p < v.num_pages; ++p) where[v.pages[p]] = {l, p};
    });
    const int64_t used = pool_->stats().pages_used;
    // Alternate the two entry points; the reused plan still holds the previous step's moves,
    // which compress(seq, plan) must clear.
    CompactionPlan fresh;
    const bool reuse = chance(0.5);
    if (reuse) {
      pool_->compress(id, reused_plan_);
    } else {
      fresh = pool_->compress(id);
    }
    const CompactionPlan& plan = reuse ? reused_plan_ : fresh;
    const auto [due, evicted] = brute_compress(m, heads_);
    if (due) ++m.compressions;
    evicted_ += evicted;
    REQUIRE(plan.num_evicted == evicted);
    if (evicted == 0) REQUIRE(plan.empty());

    int64_t last_lane = -1;
    int64_t last_dst = -1;
    std::set<int64_t> lanes_done;
    for (const EntryMove& mv : plan.moves) {
      REQUIRE(where.count(mv.src_page));
      REQUIRE(where.count(mv.dst_page));
      const auto [src_lane, src_pi] = where[mv.src_page];
      const auto [dst_lane, dst_pi] = where[mv.dst_page];
      REQUIRE(src_lane == dst_lane);
      const int64_t src = src_pi * b_ + mv.src_slot;
      const int64_t dst = dst_pi * b_ + mv.dst_slot;
      REQUIRE(dst < src);
      if (src_lane != last_lane) {
        REQUIRE(lanes_done.insert(src_lane).second);  // grouped lane by lane
        last_lane = src_lane;
        last_dst = -1;
      }
      REQUIRE(dst > last_dst);
      last_dst = dst;
      slot(mv.dst_page, mv.dst_slot) = slot(mv.src_page, mv.src_slot);
    }
    std::set<PageId> freed(plan.freed_pages.begin(), plan.freed_pages.end());
    REQUIRE(freed.size() == plan.freed_pages.size());
    for (PageId p : plan.freed_pages) {
      REQUIRE(where.count(p));  // only this sequence's pages
      poison(p);
    }
    for (const EntryMove& mv : plan.moves) REQUIRE(freed.count(mv.dst_page) == 0);
    REQUIRE(pool_->stats().pages_used == used - static_cast<int64_t>(freed.size()));
    require_budgets(seqs_.at(id), num_lanes(), due);
  }

  // Every sequence matches the model, in metadata, in fake storage, and in stats.
  void verify_all() {
    int64_t pages = 0;
    for (const auto& entry : seqs_) {
      // Named, not structured bindings: clang 14 (the fuzz/sanitizer build) cannot capture those.
      const auto& id = entry.first;
      const auto& m = entry.second;
      int64_t retained = 0;
      for_each_lane(id, [&](int64_t l, int64_t h, const LaneView& v) {
        const auto& lane = m.lanes[static_cast<size_t>(l)];
        INFO("seq " << id << " lane " << l);
        REQUIRE(v.len == static_cast<int64_t>(lane.size()));
        REQUIRE(v.num_pages >= (v.len + b_ - 1) / b_);
        pages += v.num_pages;
        retained += v.len;
        const std::vector<int32_t> pos = pool_->lane_positions(id, l / heads_, h);
        const std::vector<float> lb = pool_->lane_log_beta(id, l / heads_, h);
        for (size_t i = 0; i < lane.size(); ++i) {
          REQUIRE(pos[i] == lane[i].pos);
          REQUIRE(lb[i] == lane[i].log_beta);
          const auto idx = static_cast<int64_t>(i);
          REQUIRE(slot(v.pages[idx / b_], idx % b_) == lane[i].id);
        }
      });
      const SequenceKvStats s = pool_->sequence_stats(id);
      REQUIRE(s.retained == retained);
      REQUIRE(s.offered == m.offered);
      REQUIRE(s.num_processed == m.processed);
      REQUIRE(s.num_compressions == m.compressions);
    }
    const KvPoolStats st = pool_->stats();
    REQUIRE(st.pages_used == pages);
    REQUIRE(st.num_sequences == static_cast<int64_t>(seqs_.size()));
    REQUIRE(st.evicted_by(EvictionReason::kBudget) == evicted_);
    const Status inv = pool_->check_invariants();
    INFO(inv.to_string());
    REQUIRE(inv.ok());
  }

 private:
  template <class F>
  void for_each_lane(SeqId id, F&& f) {
    for (int64_t l = 0; l < layers_; ++l) {
      for (int64_t h = 0; h < heads_; ++h) f(l * heads_ + h, h, pool_->lane(id, l, h));
    }
  }
  int64_t& slot(PageId page, int64_t s) { return storage_[static_cast<size_t>(page * b_ + s)]; }
  void poison(PageId page) {
    for (int64_t s = 0; s < b_; ++s) slot(page, s) = -2;
  }

  std::mt19937_64 rng_;
  int64_t layers_;
  int64_t heads_;
  int64_t b_;
  std::unique_ptr<KvPool> pool_;
  std::vector<int64_t> storage_;
  std::map<SeqId, ModelSeq> seqs_;
  int64_t next_id_ = 0;
  int64_t evicted_ = 0;
  CompactionPlan reused_plan_;
};

// Random interleaving of up to 4 sequences over `steps` actions. A fixed policy, or a random
// one per sequence when `policy` is empty.
void run_random(uint64_t seed, std::optional<KvPolicy> policy, int steps) {
  std::mt19937_64 setup(seed * 7919 + 1);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(setup);
  };
  static const int64_t kPageSizes[] = {1, 2, 3, 4, 8, 16};
  const int64_t layers = pick(1, 3);
  const int64_t heads = pick(1, 3);
  const int64_t b = kPageSizes[pick(0, 5)];
  // Sometimes roomy, sometimes tight enough that reserve is refused.
  const int64_t per_seq_pages = layers * heads * ((24 + b - 1) / b + 1);
  const int64_t num_pages = std::max<int64_t>(1, per_seq_pages * pick(1, 5));
  INFO("seed " << seed << " L " << layers << " Hkv " << heads << " B " << b << " pages "
               << num_pages);
  Harness h(seed, layers, heads, b, num_pages);
  SeqId next_seq = 1;
  auto random_policy = [&]() { return policy ? *policy : static_cast<KvPolicy>(h.uniform(0, 3)); };
  for (int s = 0; s < steps; ++s) {
    INFO("step " << s);
    const auto& seqs = h.seqs();
    if (seqs.empty() || (seqs.size() < 4 && h.chance(0.08))) {
      h.add(next_seq++, h.random_config(random_policy()));
    } else if (h.chance(0.03)) {
      auto it = seqs.begin();
      std::advance(it, h.uniform(0, static_cast<int64_t>(seqs.size()) - 1));
      h.release(it->first);
    } else {
      auto it = seqs.begin();
      std::advance(it, h.uniform(0, static_cast<int64_t>(seqs.size()) - 1));
      const SeqId id = it->first;
      const SequenceKvConfig& c = it->second.config;
      const int64_t t = h.chance(0.7) ? 1 : h.uniform(1, 3 * (c.budget + c.buffer));
      if (!h.step(id, t)) {
        // Pool full: a real scheduler would preempt; here the stepping sequence gives up.
        h.release(id);
      }
    }
    h.verify_all();
  }
  for (auto it = h.seqs().begin(); it != h.seqs().end(); it = h.seqs().begin())
    h.release(it->first);
  REQUIRE(h.pool().stats().pages_used == 0);
  REQUIRE(h.pool().check_invariants().ok());
}

}  // namespace

TEST_CASE("brute force: full", "[kvpool][brute]") {
  g_coverage = {};
  for (uint64_t seed = 0; seed < 40; ++seed) run_random(seed, KvPolicy::kFull, 150);
  CHECK(g_coverage.compressions == 0);
  CHECK(g_coverage.refused > 10);
}

TEST_CASE("brute force: window", "[kvpool][brute]") {
  g_coverage = {};
  for (uint64_t seed = 100; seed < 220; ++seed) run_random(seed, KvPolicy::kWindow, 250);
  CHECK(g_coverage.compressions > 1000);
  CHECK(g_coverage.refused > 10);
}

TEST_CASE("brute force: trimkv per head", "[kvpool][brute]") {
  g_coverage = {};
  for (uint64_t seed = 200; seed < 320; ++seed) run_random(seed, KvPolicy::kTrimKv, 250);
  CHECK(g_coverage.compressions > 1000);
  CHECK(g_coverage.boundary_ties > 100);
  CHECK(g_coverage.refused > 10);
}

TEST_CASE("brute force: trimkv-global", "[kvpool][brute]") {
  g_coverage = {};
  for (uint64_t seed = 300; seed < 450; ++seed) run_random(seed, KvPolicy::kTrimKvGlobal, 250);
  CHECK(g_coverage.compressions > 1000);
  CHECK(g_coverage.floor_compressions > 300);
  CHECK(g_coverage.ragged > 300);
  CHECK(g_coverage.boundary_ties > 100);
  CHECK(g_coverage.refused > 10);
}

TEST_CASE("brute force: mixed policies share one pool", "[kvpool][brute]") {
  g_coverage = {};
  for (uint64_t seed = 500; seed < 580; ++seed) run_random(seed, std::nullopt, 300);
  CHECK(g_coverage.compressions > 500);
  CHECK(g_coverage.refused > 10);
}

TEST_CASE("brute force: realistic shape, long decode", "[kvpool][brute]") {
  // 4 layers x 2 heads, B = 16, M = 64, buffer 16: prefill chunks then decode, both
  // token-level policies, with the per-lane floor for global.
  for (KvPolicy policy : {KvPolicy::kTrimKv, KvPolicy::kTrimKvGlobal, KvPolicy::kWindow}) {
    Harness h(99, 4, 2, 16, 4 * 2 * 12 * 2);
    for (SeqId id : {SeqId{1}, SeqId{2}}) {
      SequenceKvConfig c;
      c.policy = policy;
      c.budget = 64;
      c.buffer = 16;
      c.floor_ratio = id == 1 ? 0.0 : 0.25;
      c.window_sinks = 4;
      h.add(id, c);
    }
    for (int chunk = 0; chunk < 4; ++chunk) {
      REQUIRE(h.step(1, 48));
      REQUIRE(h.step(2, 37));
      h.verify_all();
    }
    for (int t = 0; t < 300; ++t) {
      REQUIRE(h.step(1 + static_cast<SeqId>(t % 2), 1));
      if (t % 25 == 0) h.verify_all();
    }
    h.verify_all();
  }
}
