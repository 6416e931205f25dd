#include "kvpool/page_table.h"

#include <limits>

#include "common/check.h"

namespace trimserve {

PageTable::PageTable(int64_t num_pages, int64_t page_size) : page_size_(page_size) {
  TS_CHECK(num_pages >= 1 && page_size >= 1);
  TS_CHECK(num_pages <= std::numeric_limits<PageId>::max());
  TS_CHECK(page_size <= std::numeric_limits<int32_t>::max());
  const auto n = static_cast<size_t>(num_pages);
  owner_seq_.assign(n, 0);
  owner_lane_.assign(n, kNoLane);
  fill_.assign(n, 0);
  // Stack with page 0 on top, so allocation order is deterministic and low ids go first.
  free_list_.reserve(n);
  for (int64_t p = num_pages - 1; p >= 0; --p) free_list_.push_back(static_cast<PageId>(p));
}

size_t PageTable::index(PageId page) const {
  TS_CHECK(page >= 0 && static_cast<size_t>(page) < owner_lane_.size());
  return static_cast<size_t>(page);
}

void PageTable::allocate(int64_t n, SeqId seq, LaneIndex lane, std::vector<PageId>& out) {
  TS_CHECK(n >= 0 && n <= num_free());
  TS_CHECK(lane != kNoLane);
  for (int64_t i = 0; i < n; ++i) {
    const PageId page = free_list_.back();
    free_list_.pop_back();
    const size_t k = index(page);
    TS_CHECK(owner_lane_[k] == kNoLane);
    owner_seq_[k] = seq;
    owner_lane_[k] = lane;
    fill_[k] = 0;
    out.push_back(page);
  }
}

void PageTable::free(PageId page) {
  const size_t k = index(page);
  TS_CHECK_MSG(owner_lane_[k] != kNoLane, "double free of a KV page");
  owner_seq_[k] = 0;
  owner_lane_[k] = kNoLane;
  fill_[k] = 0;
  free_list_.push_back(page);
}

void PageTable::set_fill(PageId page, int32_t fill) {
  const size_t k = index(page);
  TS_CHECK(owner_lane_[k] != kNoLane);
  TS_CHECK(fill >= 0 && fill <= page_size_);
  fill_[k] = fill;
}

}  // namespace trimserve
