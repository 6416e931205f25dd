#include "kvpool/lane.h"

#include <algorithm>
#include <limits>

#include "common/check.h"

namespace trimserve {

Lane::Lane(SeqId seq, LaneIndex index, int64_t page_size)
    : seq_(seq), index_(index), page_size_(page_size) {
  TS_CHECK(index >= 0 && page_size >= 1);
}

LaneView Lane::view() const {
  return LaneView{pages_.data(), static_cast<int64_t>(pages_.size()), len()};
}

int64_t Lane::pages_needed(int64_t n) const {
  TS_CHECK(n >= 0);
  const int64_t want = len() + n;
  const int64_t have = static_cast<int64_t>(pages_.size());
  const int64_t need = (want + page_size_ - 1) / page_size_;
  return need > have ? need - have : 0;
}

void Lane::grow(int64_t n, PageTable& table) {
  table.allocate(n, seq_, index_, pages_);
  // Size the metadata mirror once per reservation so appends never reallocate per entry.
  pos_.reserve(static_cast<size_t>(capacity()));
  log_beta_.reserve(static_cast<size_t>(capacity()));
}

void Lane::append(int32_t pos, float log_beta, PageTable& table) {
  const int64_t i = len();
  TS_CHECK_MSG(i < capacity(), "append past reserved lane capacity");
  TS_CHECK(i < std::numeric_limits<int32_t>::max());
  pos_.push_back(pos);
  log_beta_.push_back(log_beta);
  table.set_fill(page_of(i), slot_of(i) + 1);
}

int64_t Lane::retain(std::span<const uint8_t> keep, PageTable& table, std::vector<PageId>& freed) {
  TS_CHECK(static_cast<int64_t>(keep.size()) == len());
  size_t w = 0;
  for (size_t i = 0; i < keep.size(); ++i) {
    if (!keep[i]) continue;
    pos_[w] = pos_[i];
    log_beta_[w] = log_beta_[i];
    ++w;
  }
  const int64_t dropped = len() - static_cast<int64_t>(w);
  pos_.resize(w);
  log_beta_.resize(w);

  // Pages wholly past the new end go back to the pool (their survivors, if any, moved out).
  const int64_t new_len = static_cast<int64_t>(w);
  const size_t keep_pages = static_cast<size_t>((new_len + page_size_ - 1) / page_size_);
  for (size_t p = keep_pages; p < pages_.size(); ++p) {
    table.free(pages_[p]);
    freed.push_back(pages_[p]);
  }
  pages_.resize(std::min(pages_.size(), keep_pages));
  for (size_t p = 0; p < pages_.size(); ++p) {
    const int64_t on_page =
        std::min<int64_t>(page_size_, new_len - static_cast<int64_t>(p) * page_size_);
    table.set_fill(pages_[p], static_cast<int32_t>(on_page));
  }
  return dropped;
}

void Lane::release(PageTable& table, std::vector<PageId>& freed) {
  for (PageId page : pages_) {
    table.free(page);
    freed.push_back(page);
  }
  pages_.clear();
  pos_.clear();
  log_beta_.clear();
}

}  // namespace trimserve
