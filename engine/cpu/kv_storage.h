// KvStorage: the CPU engine's K/V rows, [num_pages, B, D] for K and the same for V.
//
// A page belongs to one lane (sequence, layer, kv-head) — kvpool decides which — so every row
// is one entry's K (or V) vector of one kv-head. Entry i of a lane lives at page
// lane.pages[i / B], slot i % B.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kvpool/compaction_plan.h"
#include "kvpool/types.h"

namespace trimserve::cpu {

class KvStorage {
 public:
  KvStorage(int64_t num_pages, int64_t page_size, int64_t head_dim);

  int64_t num_pages() const { return num_pages_; }
  int64_t page_size() const { return page_size_; }
  int64_t head_dim() const { return head_dim_; }

  float* k_row(PageId page, int64_t slot) { return k_.data() + row_offset(page, slot); }
  float* v_row(PageId page, int64_t slot) { return v_.data() + row_offset(page, slot); }
  const float* k_row(PageId page, int64_t slot) const { return k_.data() + row_offset(page, slot); }
  const float* v_row(PageId page, int64_t slot) const { return v_.data() + row_offset(page, slot); }

  // Lane entry i (precondition: i < capacity of the lane's pages).
  float* k_entry(const LaneView& lane, int64_t i) { return k_row(lane.pages[i / page_size_], i % page_size_); }
  float* v_entry(const LaneView& lane, int64_t i) { return v_row(lane.pages[i / page_size_], i % page_size_); }
  const float* k_entry(const LaneView& lane, int64_t i) const { return k_row(lane.pages[i / page_size_], i % page_size_); }
  const float* v_entry(const LaneView& lane, int64_t i) const { return v_row(lane.pages[i / page_size_], i % page_size_); }

  // Copies K and V rows for every move, in order (CompactionPlan's ordering contract).
  void apply(const CompactionPlan& plan);

  // Bulk copies of lane entries [begin, begin + n) out of / into [n, D] row-major arrays, one
  // contiguous run per page (Engine::read_entries / write_entries; same preconditions, checked).
  void read_entries(const LaneView& lane, int64_t begin, int64_t n, std::span<float> k_out,
                    std::span<float> v_out) const;
  void write_entries(const LaneView& lane, int64_t begin, std::span<const float> k,
                     std::span<const float> v);

 private:
  // Calls fn(page, slot, i, count) for each run of `count` lane entries begin + i .. that share
  // a page (so their rows are contiguous), after checking the preconditions.
  template <class Fn>
  void for_each_run(const LaneView& lane, int64_t begin, int64_t n, Fn&& fn) const;

  int64_t row_offset(PageId page, int64_t slot) const {
    return (static_cast<int64_t>(page) * page_size_ + slot) * head_dim_;
  }

  int64_t num_pages_, page_size_, head_dim_;
  std::vector<float> k_, v_;
};

}  // namespace trimserve::cpu
