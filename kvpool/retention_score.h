// Retention score and the one ranking rule every eviction decision uses (DESIGN.md §3).
//
// Score of a cached entry: s = (q - pos) * logβ, where pos is the entry's 0-based token
// position, logβ = logsigmoid(gate) <= 0 is stored as float, and q = num_processed + 1 (the
// number of tokens the sequence has processed so far plus one — the convention the released
// TrimKV checkpoints were trained and evaluated with). s <= 0; higher means "keep".
// The product is taken in double from the exact integer distance and the float logβ, so a
// reference implementation computing double(q - pos) * double(logβ) ranks identically.
//
// Ranking (a strict total order, so nth_element/sort give one answer):
//   1. higher score first;
//   2. equal score: larger pos first (the more recent token wins);
//   3. equal (score, pos) across lanes (global mode): smaller lane index first, i.e. smaller
//      layer, then smaller kv-head (lane = layer * Hkv + head);
//   4. equal within one lane (only with repeated positions, which a real sequence never has):
//      the later entry (larger lane index i) first.
// A NaN score (NaN gate output, or 0 * -inf) ranks as -inf so the order stays total.
// Cross-sequence eviction (a later KvPool under global pressure) ranks by the same rule.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace trimserve {

inline double retention_score(int64_t q, int32_t pos, float log_beta) {
  const double s = static_cast<double>(q - pos) * static_cast<double>(log_beta);
  return std::isnan(s) ? -std::numeric_limits<double>::infinity() : s;
}

// One candidate in a ranking. `index` is the entry's index inside its lane.
struct ScoredEntry {
  double score;
  int32_t pos;
  int32_t lane;
  int32_t index;
};

// True when `a` is kept in preference to `b` (a ranks strictly before b).
inline bool ranks_before(const ScoredEntry& a, const ScoredEntry& b) {
  if (a.score != b.score) return a.score > b.score;
  if (a.pos != b.pos) return a.pos > b.pos;
  if (a.lane != b.lane) return a.lane < b.lane;
  return a.index > b.index;
}

}  // namespace trimserve
