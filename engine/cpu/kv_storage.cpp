#include "engine/cpu/kv_storage.h"

#include <algorithm>

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

}  // namespace trimserve::cpu
