// CompactionPlan: what the engine must do to its KV storage after kvpool evicted entries.
//
// kvpool decides which entries die and how the survivors of each lane slide to the front of
// that lane (keeping their relative order); the engine copies K and V rows accordingly, then
// may reuse the freed pages. Moves are listed lane by lane in increasing destination index,
// and a destination is never after its source in the lane, so copying the moves in order never
// overwrites an entry that is still to be moved.
#pragma once

#include <cstdint>
#include <vector>

#include "kvpool/types.h"

namespace trimserve {

struct EntryMove {
  PageId src_page;
  int32_t src_slot;
  PageId dst_page;
  int32_t dst_slot;
};

struct CompactionPlan {
  std::vector<EntryMove> moves;
  std::vector<PageId> freed_pages;  // pages that held no survivor; free after the moves
  int64_t num_evicted = 0;          // entries dropped by this plan

  bool empty() const { return moves.empty() && freed_pages.empty() && num_evicted == 0; }
};

}  // namespace trimserve
