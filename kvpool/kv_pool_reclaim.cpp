// KvPool::reclaim: global-pressure eviction across sequences (DESIGN.md §4).
//
// Pages belong to lanes, so evicting one entry frees a page only when its lane's length drops
// to a multiple of B. The loop pops candidates lowest rank first from a heap and keeps, per
// touched lane, how many pages compaction will free (every page past ceil(new_len / B)), so it
// stops at the first candidate that makes the target hold — the fewest lowest-ranked entries.
// Building the heap is O(E) over the candidate entries; each pop is O(log E).
#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "kvpool/compaction.h"
#include "kvpool/kv_pool_impl.h"

namespace trimserve {

namespace {

struct Candidate {
  double score;  // decayed for idle sequences
  int32_t pos;
  int32_t seq_index;  // into the reclaim's sequence list, ordered by SeqId
  int32_t lane;
  int32_t index;
};

// True when `a` is kept in preference to `b`; the heap built with it has the next victim on
// top. Mirrors ranks_before() with the sequence inserted before the lane: a smaller SeqId
// (smaller seq_index) is kept first.
bool kept_before(const Candidate& a, const Candidate& b) {
  if (a.score != b.score) return a.score > b.score;
  if (a.pos != b.pos) return a.pos > b.pos;
  if (a.seq_index != b.seq_index) return a.seq_index < b.seq_index;
  if (a.lane != b.lane) return a.lane < b.lane;
  return a.index > b.index;
}

bool ranks_by_score(KvPolicy policy) {
  return policy == KvPolicy::kTrimKv || policy == KvPolicy::kTrimKvGlobal;
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

int64_t KvPool::reclaim(const ReclaimTarget& target, double now_s, CompactionPlan& plan) {
  Impl& im = *impl_;
  const int64_t b = im.options.page_size;
  int64_t idle_pages = 0;
  for (const auto& [id, s] : im.sequences) {
    if (!s.idle) continue;
    for (const Lane& lane : s.lanes) idle_pages += static_cast<int64_t>(lane.pages().size());
  }
  int64_t free_pages = im.table.num_free();
  auto reached = [&] {
    return free_pages >= target.min_free_pages && idle_pages <= target.max_idle_pages;
  };
  if (reached()) return 0;

  // The eligible sequences, in SeqId order (the tie-break needs a stable order).
  std::map<SeqId, PoolSequence*> ordered;
  for (auto& [id, s] : im.sequences) {
    if (!ranks_by_score(s.config.policy) || (target.idle_only && !s.idle)) continue;
    ordered.emplace(id, &s);
  }
  std::vector<PoolSequence*> seqs;
  std::vector<Candidate> heap;
  for (const auto& [id, s] : ordered) {
    const auto seq_index = static_cast<int32_t>(seqs.size());
    seqs.push_back(s);
    const int64_t q = s->stats.num_processed + 1;
    const double decay =
        s->idle ? im.options.idle_decay_per_s * std::max(0.0, now_s - s->idle_since_s) : 0.0;
    for (size_t l = 0; l < s->lanes.size(); ++l) {
      const Lane& lane = s->lanes[l];
      const std::span<const int32_t> pos = lane.positions();
      const std::span<const float> lb = lane.log_beta();
      const int64_t recent_from =
          s->idle ? lane.len() : std::max<int64_t>(0, lane.len() - im.options.protected_recent);
      for (int64_t i = 0; i < lane.len(); ++i) {
        const auto k = static_cast<size_t>(i);
        if (!s->idle && (pos[k] < im.options.protected_sinks || i >= recent_from)) continue;
        heap.push_back(Candidate{retention_score(q, pos[k], lb[k]) - decay, pos[k], seq_index,
                                 static_cast<int32_t>(l), static_cast<int32_t>(i)});
      }
    }
  }
  std::make_heap(heap.begin(), heap.end(), kept_before);

  // removed[seq_index][lane]: entries taken so far from that lane.
  std::vector<std::vector<int64_t>> removed(seqs.size());
  std::vector<Candidate> victims;
  while (!reached() && !heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), kept_before);
    const Candidate c = heap.back();
    heap.pop_back();
    victims.push_back(c);
    PoolSequence& s = *seqs[static_cast<size_t>(c.seq_index)];
    std::vector<int64_t>& lane_removed = removed[static_cast<size_t>(c.seq_index)];
    if (lane_removed.empty()) lane_removed.assign(s.lanes.size(), 0);
    const Lane& lane = s.lanes[static_cast<size_t>(c.lane)];
    const auto held = static_cast<int64_t>(lane.pages().size());
    int64_t& r = lane_removed[static_cast<size_t>(c.lane)];
    // Pages this lane gives back once compacted, before and after taking this entry (a lane
    // with reserved but unused pages gives those back too, once it is touched at all).
    const int64_t before = r == 0 ? 0 : held - ceil_div(lane.len() - r, b);
    ++r;
    const int64_t gained = held - ceil_div(lane.len() - r, b) - before;
    free_pages += gained;
    if (s.idle) idle_pages -= gained;
  }
  if (victims.empty()) return 0;

  // Compact every touched sequence by its victims.
  std::sort(victims.begin(), victims.end(), [](const Candidate& a, const Candidate& b2) {
    return a.seq_index < b2.seq_index;
  });
  int64_t evicted = 0;
  for (size_t v = 0; v < victims.size();) {
    PoolSequence& s = *seqs[static_cast<size_t>(victims[v].seq_index)];
    im.entries.clear();
    for (const Lane& lane : s.lanes) im.entries.push_back(lane.entries());
    im.keep.reset(im.entries);
    const int32_t seq_index = victims[v].seq_index;
    for (; v < victims.size() && victims[v].seq_index == seq_index; ++v) {
      im.keep.lane(victims[v].lane)[static_cast<size_t>(victims[v].index)] = 0;
    }
    const int64_t before = plan.num_evicted;
    compact_lanes(s.lanes, im.keep, im.table, plan);
    const int64_t n = plan.num_evicted - before;
    s.stats.retained -= n;
    evicted += n;
  }
  im.count_evicted(target.reason, evicted);
  TS_CHECK(im.table.num_free() == free_pages);
  return evicted;
}

}  // namespace trimserve
