// PageTable: the fixed array of KV pages and their metadata (DESIGN.md §4).
//
// A page holds B entries of exactly one lane. The table records, per page, who owns it
// (sequence + lane index) and how many of its slots hold live entries (fill). Storage of K/V
// lives in the engine; this is bookkeeping only.
//
// Contract: every page is either on the free list (no owner, fill 0) or owned by exactly one
// lane. allocate() never hands out a page twice; free() of a free page is a bug (TS_CHECK).
// All-or-nothing reservations are built on top: callers ask num_free() first, and allocate()
// checks that enough pages are free before taking any.
//
// Not thread-safe; owned by KvPool, which is called from the engine-loop thread only.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kvpool/types.h"

namespace trimserve {

// Lane index inside one sequence: layer * Hkv + head (layer-major, so increasing lane index
// is increasing (layer, head), the order global tie-breaks use).
using LaneIndex = int32_t;
inline constexpr LaneIndex kNoLane = -1;

class PageTable {
 public:
  // Preconditions: num_pages >= 1, page_size >= 1. Pages are handed out lowest id first.
  PageTable(int64_t num_pages, int64_t page_size);

  int64_t num_pages() const { return static_cast<int64_t>(owner_lane_.size()); }
  int64_t page_size() const { return page_size_; }
  int64_t num_free() const { return static_cast<int64_t>(free_list_.size()); }
  int64_t num_used() const { return num_pages() - num_free(); }

  // Takes `n` pages off the free list for (seq, lane), appending their ids to `out`; their
  // fill starts at 0. Precondition: n <= num_free().
  void allocate(int64_t n, SeqId seq, LaneIndex lane, std::vector<PageId>& out);

  // Returns an owned page to the free list. Precondition: the page is owned.
  void free(PageId page);

  bool is_free(PageId page) const { return owner_lane_[index(page)] == kNoLane; }
  SeqId owner_seq(PageId page) const { return owner_seq_[index(page)]; }
  LaneIndex owner_lane(PageId page) const { return owner_lane_[index(page)]; }
  int32_t fill(PageId page) const { return fill_[index(page)]; }
  // Precondition: the page is owned and 0 <= fill <= B.
  void set_fill(PageId page, int32_t fill);

  // The free list itself (for invariant checks): no duplicates, every entry is_free().
  std::span<const PageId> free_list() const { return free_list_; }

 private:
  size_t index(PageId page) const;

  int64_t page_size_;
  std::vector<SeqId> owner_seq_;
  std::vector<LaneIndex> owner_lane_;  // kNoLane when free
  std::vector<int32_t> fill_;
  std::vector<PageId> free_list_;  // a stack; the back is handed out next
};

}  // namespace trimserve
