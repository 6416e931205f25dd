#include "kvpool/page_invariants.h"

#include <algorithm>
#include <string>
#include <vector>

namespace trimserve {

namespace {

Status violation(const std::string& what) {
  return internal_error("KV page invariant violated: " + what);
}

}  // namespace

Status check_page_invariants(const PageTable& table, std::span<const Lane* const> lanes) {
  const int64_t num_pages = table.num_pages();
  const int64_t b = table.page_size();
  std::vector<uint8_t> seen(static_cast<size_t>(num_pages), 0);

  for (PageId page : table.free_list()) {
    if (page < 0 || page >= num_pages)
      return violation("free list holds bad id " + std::to_string(page));
    if (seen[static_cast<size_t>(page)])
      return violation("page " + std::to_string(page) + " twice on the free list");
    if (!table.is_free(page))
      return violation("page " + std::to_string(page) + " on the free list but owned");
    seen[static_cast<size_t>(page)] = 1;
  }

  int64_t owned = 0;
  for (const Lane* lane : lanes) {
    const std::string who =
        "lane " + std::to_string(lane->index()) + " of sequence " + std::to_string(lane->seq());
    if (lane->len() > lane->capacity())
      return violation(who + " holds more entries than its pages");
    if (lane->log_beta().size() != lane->positions().size())
      return violation(who + " metadata arrays differ in length");
    const auto pages = lane->pages();
    for (size_t p = 0; p < pages.size(); ++p) {
      const PageId page = pages[p];
      if (page < 0 || page >= num_pages)
        return violation(who + " holds bad page id " + std::to_string(page));
      if (seen[static_cast<size_t>(page)])
        return violation("page " + std::to_string(page) + " double-owned or also free (" + who +
                         ")");
      seen[static_cast<size_t>(page)] = 1;
      if (table.is_free(page) || table.owner_seq(page) != lane->seq() ||
          table.owner_lane(page) != lane->index()) {
        return violation("page " + std::to_string(page) + " held by " + who +
                         " but the table names another owner");
      }
      const int64_t start = static_cast<int64_t>(p) * b;
      const int64_t expect = std::max<int64_t>(0, std::min<int64_t>(b, lane->len() - start));
      if (table.fill(page) != expect) {
        return violation("page " + std::to_string(page) + " fill " +
                         std::to_string(table.fill(page)) + ", expected " + std::to_string(expect));
      }
      ++owned;
    }
  }
  if (owned != table.num_used()) {
    return violation(std::to_string(table.num_used()) + " pages used but lanes hold " +
                     std::to_string(owned) + " (leak)");
  }
  for (int64_t p = 0; p < num_pages; ++p) {
    if (!seen[static_cast<size_t>(p)])
      return violation("page " + std::to_string(p) + " neither free nor held by a lane");
  }
  return Status::ok_status();
}

}  // namespace trimserve
