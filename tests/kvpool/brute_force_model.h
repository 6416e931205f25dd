// Brute-force model of KvPool's eviction policies for the randomized differential test
// (policy_brute_force_test.cpp). Deliberately naive and independent of kvpool's code: every
// ranking is a full std::sort of all candidates by a tuple key spelled out here from
// DESIGN.md §3 and the task's semantics, so a mistake in kvpool's nth_element-based policies
// cannot be mirrored here.
#pragma once

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "kvpool/types.h"

namespace trimserve::kvpool_test {

struct ModelEntry {
  int32_t pos;
  float log_beta;
  int64_t id;  // unique per appended entry; what the fake engine stores in a slot
};

enum class BetaMode { kContinuous, kDiscrete, kLaneSkewed };

struct ModelSeq {
  SequenceKvConfig config;
  BetaMode beta_mode = BetaMode::kContinuous;
  bool random_positions = false;
  std::vector<std::vector<ModelEntry>> lanes;  // lane = layer * H + head
  int64_t processed = 0;
  int64_t offered = 0;
  int64_t compressions = 0;
};

// The ranking key; a larger tuple ranks first: score, then pos, then smaller layer, smaller
// head, then the later entry within a lane.
using Key = std::tuple<double, int32_t, int64_t, int64_t, int64_t>;
struct Candidate {
  Key key;
  size_t lane;
  size_t index;
};

// What the random runs exercised, so a test that silently stopped reaching a path fails.
struct Coverage {
  int64_t compressions = 0;
  int64_t evictions = 0;
  int64_t floor_compressions = 0;  // trimkv-global with floor_ratio > 0
  int64_t ragged = 0;              // a compressed sequence whose lanes differ in length
  int64_t refused = 0;             // reserve correctly refused
  int64_t boundary_ties = 0;       // cut fell between two entries with equal score
};
inline Coverage g_coverage;

inline Key rank_key(int64_t q, const ModelEntry& e, int64_t layer, int64_t head, size_t index) {
  const double score = static_cast<double>(q - e.pos) * static_cast<double>(e.log_beta);
  return {score, e.pos, -layer, -head, static_cast<int64_t>(index)};
}

inline void sort_best_first(std::vector<Candidate>& c) {
  std::sort(c.begin(), c.end(),
            [](const Candidate& a, const Candidate& b) { return a.key > b.key; });
}

// Brute force compress: returns {due, entries evicted} and rewrites m.lanes.
inline std::pair<bool, int64_t> brute_compress(ModelSeq& m, int64_t num_heads) {
  const SequenceKvConfig& c = m.config;
  const int64_t q = m.processed + 1;
  const size_t nl = m.lanes.size();
  std::vector<std::vector<uint8_t>> keep(nl);
  for (size_t l = 0; l < nl; ++l) keep[l].assign(m.lanes[l].size(), 1);
  auto lane_candidates = [&](size_t l) {
    std::vector<Candidate> out;
    for (size_t i = 0; i < m.lanes[l].size(); ++i) {
      out.push_back({rank_key(q, m.lanes[l][i], static_cast<int64_t>(l) / num_heads,
                              static_cast<int64_t>(l) % num_heads, i),
                     l, i});
    }
    return out;
  };
  auto keep_lane_top = [&](size_t l, int64_t k) {
    std::vector<Candidate> cand = lane_candidates(l);
    sort_best_first(cand);
    if (k > 0 && k < static_cast<int64_t>(cand.size()) &&
        std::get<0>(cand[static_cast<size_t>(k) - 1].key) ==
            std::get<0>(cand[static_cast<size_t>(k)].key)) {
      ++g_coverage.boundary_ties;
    }
    for (size_t r = 0; r < cand.size(); ++r) keep[l][cand[r].index] = static_cast<int64_t>(r) < k;
  };

  bool due = false;
  const int64_t m_budget = c.budget;
  switch (c.policy) {
    case KvPolicy::kFull:
      break;
    case KvPolicy::kWindow:
      for (size_t l = 0; l < nl; ++l) {
        const auto len = static_cast<int64_t>(m.lanes[l].size());
        if (len < m_budget + c.buffer) continue;
        due = true;
        for (int64_t i = 0; i < len; ++i) {
          keep[l][static_cast<size_t>(i)] =
              i < c.window_sinks || i >= len - (m_budget - c.window_sinks);
        }
      }
      break;
    case KvPolicy::kTrimKv:
      for (size_t l = 0; l < nl; ++l) {
        if (static_cast<int64_t>(m.lanes[l].size()) < m_budget + c.buffer) continue;
        due = true;
        keep_lane_top(l, m_budget);
      }
      break;
    case KvPolicy::kTrimKvGlobal: {
      int64_t total = 0;
      for (const auto& lane : m.lanes) total += static_cast<int64_t>(lane.size());
      if (total < (m_budget + c.buffer) * static_cast<int64_t>(nl)) break;
      due = true;
      std::vector<Candidate> all;
      for (size_t l = 0; l < nl; ++l) {
        auto lc = lane_candidates(l);
        all.insert(all.end(), lc.begin(), lc.end());
      }
      sort_best_first(all);
      const int64_t k = m_budget * static_cast<int64_t>(nl);
      if (k < static_cast<int64_t>(all.size()) &&
          std::get<0>(all[static_cast<size_t>(k) - 1].key) ==
              std::get<0>(all[static_cast<size_t>(k)].key)) {
        ++g_coverage.boundary_ties;
      }
      if (c.floor_ratio > 0.0) ++g_coverage.floor_compressions;
      if (c.floor_ratio == 0.0) {
        for (size_t r = 0; r < all.size(); ++r)
          keep[all[r].lane][all[r].index] = static_cast<int64_t>(r) < k;
      } else {
        const auto k_prime = static_cast<int64_t>(static_cast<double>(k) * (1.0 - c.floor_ratio));
        std::vector<int64_t> share(
            nl, static_cast<int64_t>(static_cast<double>(m_budget) * c.floor_ratio));
        for (int64_t r = 0; r < k_prime; ++r) ++share[all[static_cast<size_t>(r)].lane];
        for (size_t l = 0; l < nl; ++l) keep_lane_top(l, share[l]);
      }
      break;
    }
  }
  int64_t evicted = 0;
  std::set<size_t> lens;
  for (size_t l = 0; l < nl; ++l) {
    std::vector<ModelEntry> kept;
    for (size_t i = 0; i < m.lanes[l].size(); ++i) {
      if (keep[l][i]) kept.push_back(m.lanes[l][i]);
    }
    evicted += static_cast<int64_t>(m.lanes[l].size() - kept.size());
    m.lanes[l] = std::move(kept);
    lens.insert(m.lanes[l].size());
  }
  if (due) {
    ++g_coverage.compressions;
    g_coverage.evictions += evicted;
    if (lens.size() > 1) ++g_coverage.ragged;
  }
  return {due, evicted};
}

// Budgets hold after every step: a per-lane policy's lane is under M + buffer or at most M; a
// trimkv-global sequence is under (M + buffer) * lanes in total or at most M * lanes, and at
// most M * lanes right after a compression that was due. Lanes only shrink otherwise
// (rollback, global pressure), which keeps both.
inline void require_budgets(const ModelSeq& m, int64_t num_lanes, bool due) {
  const SequenceKvConfig& c = m.config;
  int64_t total = 0;
  for (const auto& lane : m.lanes) {
    const auto len = static_cast<int64_t>(lane.size());
    total += len;
    if (c.policy == KvPolicy::kWindow || c.policy == KvPolicy::kTrimKv) {
      REQUIRE((len < c.budget + c.buffer || len <= c.budget));
    }
  }
  if (c.policy == KvPolicy::kTrimKvGlobal) {
    const int64_t k = c.budget * num_lanes;
    REQUIRE((total < (c.budget + c.buffer) * num_lanes || total <= k));
    if (due) REQUIRE(total <= k);
  }
}

}  // namespace trimserve::kvpool_test
