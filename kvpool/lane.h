// Lane: the cached entries of one (sequence, layer, kv-head) (DESIGN.md §4).
//
// Entry i of a lane lives at page pages()[i / B], slot i % B, in the engine's storage; the lane
// keeps the host mirror of each entry's metadata (pos, logβ) in lane order (oldest first, as
// appended; compaction preserves relative order). A lane owns its pages exclusively: it gets
// them from the PageTable and returns them there.
//
// Invariants: len() <= capacity() = num_pages * B; positions() and log_beta() have len()
// elements; the table's fill of page p equals the number of the lane's entries on it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kvpool/page_table.h"
#include "kvpool/types.h"

namespace trimserve {

// The metadata a policy scores: parallel arrays in lane order.
struct LaneEntries {
  std::span<const int32_t> pos;
  std::span<const float> log_beta;
  int64_t size() const { return static_cast<int64_t>(pos.size()); }
};

class Lane {
 public:
  Lane(SeqId seq, LaneIndex index, int64_t page_size);

  SeqId seq() const { return seq_; }
  LaneIndex index() const { return index_; }
  int64_t page_size() const { return page_size_; }
  int64_t len() const { return static_cast<int64_t>(pos_.size()); }
  int64_t capacity() const { return static_cast<int64_t>(pages_.size()) * page_size_; }
  std::span<const PageId> pages() const { return pages_; }
  std::span<const int32_t> positions() const { return pos_; }
  std::span<const float> log_beta() const { return log_beta_; }
  LaneEntries entries() const { return {pos_, log_beta_}; }
  LaneView view() const;

  // Where entry i lives in the engine's storage. Precondition: 0 <= i < capacity().
  PageId page_of(int64_t i) const { return pages_[static_cast<size_t>(i / page_size_)]; }
  int32_t slot_of(int64_t i) const { return static_cast<int32_t>(i % page_size_); }

  // How many pages must be added so that len() + n entries fit. Precondition: n >= 0.
  int64_t pages_needed(int64_t n) const;

  // Adds `n` pages from the table at the end of the lane. Precondition: n <= table.num_free().
  void grow(int64_t n, PageTable& table);

  // Records entry len() (whose K/V the engine already wrote). Precondition: len() < capacity().
  void append(int32_t pos, float log_beta, PageTable& table);

  // Keeps the entries with keep[i] != 0 (keep.size() == len()), sliding them to the front in
  // order, and frees every page past the new end (ids appended to `freed`). The matching
  // storage moves are computed by compaction.h before this call. Returns entries dropped.
  int64_t retain(std::span<const uint8_t> keep, PageTable& table, std::vector<PageId>& freed);

  // Frees every page (ids appended to `freed`) and forgets all entries.
  void release(PageTable& table, std::vector<PageId>& freed);

 private:
  SeqId seq_;
  LaneIndex index_;
  int64_t page_size_;
  std::vector<PageId> pages_;
  std::vector<int32_t> pos_;
  std::vector<float> log_beta_;
};

}  // namespace trimserve
