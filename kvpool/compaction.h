// Compaction: turns a policy's keep mask into a CompactionPlan (compaction_plan.h) and applies
// the same change to the lanes' metadata and the page table.
//
// Per lane, survivors slide to the front keeping their relative order: the j-th survivor
// (originally at index i >= j) moves to index j; a move is emitted only where i != j. Pages
// wholly past the new length (including reserved but unused ones) are freed after the moves.
// A lane whose mask keeps everything is left alone (no moves, no freed pages).
//
// Ordering guarantee the engine relies on: moves are grouped lane by lane with increasing
// destination, and dst index < src index, so applying them in order never overwrites an
// entry still to be moved; freed pages never receive a move.
#pragma once

#include <span>

#include "kvpool/compaction_plan.h"
#include "kvpool/eviction_policy.h"
#include "kvpool/lane.h"
#include "kvpool/page_table.h"

namespace trimserve {

// Compacts lane l by keep.lane(l) for every lane; appends moves and freed pages to `plan` and
// adds the dropped entries to plan.num_evicted. keep.num_lanes() == lanes.size().
void compact_lanes(std::span<Lane> lanes, const KeepMask& keep, PageTable& table,
                   CompactionPlan& plan);

}  // namespace trimserve
