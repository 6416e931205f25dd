#include "kvpool/compaction.h"

#include <algorithm>

#include "common/check.h"

namespace trimserve {

namespace {

// Entries before the first evicted one stay where they are; from there on every survivor
// moves. Page/slot are stepped incrementally (no division per entry).
void compact_lane(Lane& lane, std::span<const uint8_t> keep, PageTable& table,
                  CompactionPlan& plan) {
  TS_CHECK(static_cast<int64_t>(keep.size()) == lane.len());
  const auto first_dead =
      static_cast<size_t>(std::find(keep.begin(), keep.end(), 0) - keep.begin());
  if (first_dead == keep.size()) return;  // nothing evicted: leave the lane (and its pages) alone

  const int64_t b = lane.page_size();
  const std::span<const PageId> pages = lane.pages();
  int64_t dst_page = static_cast<int64_t>(first_dead) / b;
  int64_t dst_slot = static_cast<int64_t>(first_dead) % b;
  int64_t src_page = dst_page;
  int64_t src_slot = dst_slot;
  for (size_t i = first_dead; i < keep.size(); ++i) {
    if (keep[i]) {
      plan.moves.push_back(
          EntryMove{pages[static_cast<size_t>(src_page)], static_cast<int32_t>(src_slot),
                    pages[static_cast<size_t>(dst_page)], static_cast<int32_t>(dst_slot)});
      if (++dst_slot == b) {
        dst_slot = 0;
        ++dst_page;
      }
    }
    if (++src_slot == b) {
      src_slot = 0;
      ++src_page;
    }
  }
  plan.num_evicted += lane.retain(keep, table, plan.freed_pages);
}

// Exact number of moves lane l will emit (survivors after its first evicted entry).
int64_t count_moves(std::span<const uint8_t> keep) {
  const auto first_dead = std::find(keep.begin(), keep.end(), 0);
  return std::count(first_dead, keep.end(), 1);
}

}  // namespace

void compact_lanes(std::span<Lane> lanes, const KeepMask& keep, PageTable& table,
                   CompactionPlan& plan) {
  TS_CHECK(keep.num_lanes() == static_cast<int64_t>(lanes.size()));
  // One exact reservation instead of repeated growth: plans can hold ~10^5 moves.
  int64_t moves = 0;
  for (size_t l = 0; l < lanes.size(); ++l)
    moves += count_moves(keep.lane(static_cast<int64_t>(l)));
  plan.moves.reserve(plan.moves.size() + static_cast<size_t>(moves));
  for (size_t l = 0; l < lanes.size(); ++l) {
    compact_lane(lanes[l], keep.lane(static_cast<int64_t>(l)), table, plan);
  }
}

}  // namespace trimserve
