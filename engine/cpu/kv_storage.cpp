#include "engine/cpu/kv_storage.h"

#include <algorithm>

#include "common/check.h"

namespace trimserve::cpu {

KvStorage::KvStorage(int64_t num_pages, int64_t page_size, int64_t head_dim)
    : num_pages_(num_pages),
      page_size_(page_size),
      head_dim_(head_dim),
      k_(static_cast<size_t>(num_pages * page_size * head_dim)),
      v_(static_cast<size_t>(num_pages * page_size * head_dim)) {}

void KvStorage::apply(const CompactionPlan& plan) {
  for (const EntryMove& m : plan.moves) {
    std::copy_n(k_row(m.src_page, m.src_slot), head_dim_, k_row(m.dst_page, m.dst_slot));
    std::copy_n(v_row(m.src_page, m.src_slot), head_dim_, v_row(m.dst_page, m.dst_slot));
  }
}

template <class Fn>
void KvStorage::for_each_run(const LaneView& lane, int64_t begin, int64_t n, Fn&& fn) const {
  TS_CHECK(begin >= 0 && n >= 0);
  TS_CHECK(begin + n <= lane.num_pages * page_size_);
  int64_t i = 0;
  while (i < n) {
    const int64_t entry = begin + i;
    const PageId page = lane.pages[entry / page_size_];
    TS_CHECK(page >= 0 && page < num_pages_);
    const int64_t slot = entry % page_size_;
    const int64_t count = std::min(n - i, page_size_ - slot);
    fn(page, slot, i, count);
    i += count;
  }
}

void KvStorage::read_entries(const LaneView& lane, int64_t begin, int64_t n,
                             std::span<float> k_out, std::span<float> v_out) const {
  TS_CHECK(static_cast<int64_t>(k_out.size()) == n * head_dim_);
  TS_CHECK(static_cast<int64_t>(v_out.size()) == n * head_dim_);
  for_each_run(lane, begin, n, [&](PageId page, int64_t slot, int64_t i, int64_t count) {
    std::copy_n(k_row(page, slot), count * head_dim_, k_out.data() + i * head_dim_);
    std::copy_n(v_row(page, slot), count * head_dim_, v_out.data() + i * head_dim_);
  });
}

void KvStorage::write_entries(const LaneView& lane, int64_t begin, std::span<const float> k,
                              std::span<const float> v) {
  const int64_t size = static_cast<int64_t>(k.size());
  TS_CHECK(size % head_dim_ == 0 && v.size() == k.size());
  for_each_run(lane, begin, size / head_dim_, [&](PageId page, int64_t slot, int64_t i, int64_t count) {
    std::copy_n(k.data() + i * head_dim_, count * head_dim_, k_row(page, slot));
    std::copy_n(v.data() + i * head_dim_, count * head_dim_, v_row(page, slot));
  });
}

}  // namespace trimserve::cpu
