// KvPool facade: sequences -> lanes -> pages, with one policy per sequence. The policy math
// lives in *_policy.cpp, the plan building in compaction.cpp; this file only routes calls and
// keeps the counters.
#include "kvpool/kv_pool.h"

#include <limits>
#include <string>

#include "kvpool/compaction.h"
#include "kvpool/kv_pool_impl.h"
#include "kvpool/page_invariants.h"

namespace trimserve {

namespace {

constexpr int64_t kMaxLanes = int64_t{1} << 20;
constexpr int64_t kMaxPageSize = int64_t{1} << 20;

}  // namespace

Result<std::unique_ptr<KvPool>> KvPool::create(const KvPoolOptions& options) {
  if (options.num_pages < 1 || options.num_pages > std::numeric_limits<PageId>::max()) {
    return invalid_argument("num_pages must be in [1, 2^31), got " +
                            std::to_string(options.num_pages));
  }
  if (options.page_size < 1 || options.page_size > kMaxPageSize) {
    return invalid_argument("page_size must be in [1, 2^20], got " +
                            std::to_string(options.page_size));
  }
  if (options.num_layers < 1 || options.num_kv_heads < 1 || options.num_layers > kMaxLanes ||
      options.num_kv_heads > kMaxLanes || options.num_layers * options.num_kv_heads > kMaxLanes) {
    return invalid_argument(
        "num_layers and num_kv_heads must be >= 1 with at most 2^20 lanes, got " +
        std::to_string(options.num_layers) + " x " + std::to_string(options.num_kv_heads));
  }
  if (!(options.idle_decay_per_s >= 0.0) || options.protected_sinks < 0 ||
      options.protected_recent < 0) {
    return invalid_argument("idle_decay_per_s, protected_sinks and protected_recent must be >= 0");
  }
  return std::make_unique<KvPool>(options);
}

KvPool::KvPool(const KvPoolOptions& options) : impl_(std::make_unique<Impl>(options)) {}
KvPool::~KvPool() = default;

const KvPoolOptions& KvPool::options() const { return impl_->options; }

Status KvPool::add_sequence(SeqId seq, const SequenceKvConfig& config) {
  if (impl_->sequences.count(seq) != 0) {
    return failed_precondition("sequence " + std::to_string(seq) + " already exists");
  }
  TS_RETURN_IF_ERROR(validate_sequence_kv_config(config));
  PoolSequence s;
  s.config = config;
  s.policy = make_eviction_policy(config);
  s.lanes.reserve(static_cast<size_t>(impl_->num_lanes));
  for (int64_t l = 0; l < impl_->num_lanes; ++l) {
    s.lanes.emplace_back(seq, static_cast<LaneIndex>(l), impl_->options.page_size);
  }
  impl_->sequences.emplace(seq, std::move(s));
  return Status::ok_status();
}

bool KvPool::has_sequence(SeqId seq) const { return impl_->sequences.count(seq) != 0; }

int64_t KvPool::pages_needed(SeqId seq, int64_t n) const {
  TS_CHECK(n >= 0);
  const PoolSequence& s = impl_->get(seq);
  // Saturates instead of overflowing for absurd n (the answer is "more than the pool" anyway).
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (n > kMax / 4) return kMax;
  int64_t need = 0;
  for (const Lane& lane : s.lanes) {
    const int64_t lane_need = lane.pages_needed(n);
    if (lane_need > kMax - need) return kMax;
    need += lane_need;
  }
  return need;
}

Status KvPool::reserve(SeqId seq, int64_t n) {
  if (n < 0) return invalid_argument("reserve: n must be >= 0, got " + std::to_string(n));
  if (!has_sequence(seq)) return not_found("reserve: unknown sequence " + std::to_string(seq));
  const int64_t need = pages_needed(seq, n);
  const int64_t free = impl_->table.num_free();
  if (need > free) {
    const std::string need_text = need == std::numeric_limits<int64_t>::max()
                                      ? std::string("more than the whole pool")
                                      : std::to_string(need);
    return resource_exhausted("KV pool full: sequence " + std::to_string(seq) + " needs " +
                              need_text + " pages for " + std::to_string(n) +
                              " more entries per lane, " + std::to_string(free) + " free of " +
                              std::to_string(impl_->table.num_pages()));
  }
  for (Lane& lane : impl_->get(seq).lanes) lane.grow(lane.pages_needed(n), impl_->table);
  return Status::ok_status();
}

LaneView KvPool::lane(SeqId seq, int64_t layer, int64_t head) const {
  return impl_->lane(seq, layer, head).view();
}

void KvPool::append(SeqId seq, std::span<const int32_t> positions,
                    std::span<const float> log_beta) {
  PoolSequence& s = impl_->get(seq);
  const auto t = static_cast<int64_t>(positions.size());
  const int64_t num_lanes = impl_->num_lanes;
  TS_CHECK_MSG(static_cast<int64_t>(log_beta.size()) == t * num_lanes,
               "log_beta must be [T, L, Hkv]");
  for (int64_t l = 0; l < num_lanes; ++l) {
    Lane& lane = s.lanes[static_cast<size_t>(l)];
    TS_CHECK_MSG(lane.len() + t <= lane.capacity(), "append without reserve");
    for (int64_t i = 0; i < t; ++i) {
      lane.append(positions[static_cast<size_t>(i)],
                  log_beta[static_cast<size_t>(i * num_lanes + l)], impl_->table);
    }
  }
  s.stats.retained += t * num_lanes;
  s.stats.offered += t * num_lanes;
  impl_->offered_total += t * num_lanes;
  s.stats.num_processed += t;
}

CompactionPlan KvPool::compress(SeqId seq) {
  CompactionPlan plan;
  compress(seq, plan);
  return plan;
}

void KvPool::compress(SeqId seq, CompactionPlan& plan) {
  Impl& im = *impl_;
  PoolSequence& s = im.get(seq);
  plan.moves.clear();
  plan.freed_pages.clear();
  plan.num_evicted = 0;
  im.entries.clear();
  for (const Lane& lane : s.lanes) im.entries.push_back(lane.entries());

  if (!s.policy->is_due(im.entries)) return;  // the common case: O(lanes)
  ++s.stats.num_compressions;
  im.keep.reset(im.entries);
  s.policy->select(im.entries, s.stats.num_processed + 1, im.scratch, im.keep);
  compact_lanes(s.lanes, im.keep, im.table, plan);
  s.stats.retained -= plan.num_evicted;
  im.count_evicted(EvictionReason::kBudget, plan.num_evicted);
}

Result<CompactionPlan> KvPool::truncate(SeqId seq, int64_t pos) {
  Impl& im = *impl_;
  auto it = im.sequences.find(seq);
  if (it == im.sequences.end()) {
    return not_found("truncate: unknown sequence " + std::to_string(seq));
  }
  PoolSequence& s = it->second;
  if (pos < 0 || pos > s.stats.num_processed) {
    return out_of_range("truncate: position " + std::to_string(pos) + " outside [0, " +
                        std::to_string(s.stats.num_processed) + "] for sequence " +
                        std::to_string(seq));
  }
  CompactionPlan plan;
  im.entries.clear();
  for (const Lane& lane : s.lanes) im.entries.push_back(lane.entries());
  im.keep.reset(im.entries);
  bool any = false;
  for (size_t l = 0; l < im.entries.size(); ++l) {
    const std::span<const int32_t> p = im.entries[l].pos;
    std::span<uint8_t> keep = im.keep.lane(static_cast<int64_t>(l));
    for (size_t i = 0; i < p.size(); ++i) {
      if (p[i] >= pos) {
        keep[i] = 0;
        any = true;
      }
    }
  }
  if (any) {
    compact_lanes(s.lanes, im.keep, im.table, plan);
    s.stats.retained -= plan.num_evicted;
    im.truncated += plan.num_evicted;
  }
  s.stats.num_processed = pos;
  return plan;
}

Status KvPool::restore_sequence(SeqId seq, const SequenceKvConfig& config, int64_t num_processed,
                                std::span<const LaneEntries> lanes) {
  Impl& im = *impl_;
  if (im.sequences.count(seq) != 0) {
    return failed_precondition("sequence " + std::to_string(seq) + " already exists");
  }
  TS_RETURN_IF_ERROR(validate_sequence_kv_config(config));
  if (static_cast<int64_t>(lanes.size()) != im.num_lanes) {
    return invalid_argument("restore: " + std::to_string(lanes.size()) + " lanes, the pool has " +
                            std::to_string(im.num_lanes));
  }
  if (num_processed < 0 || num_processed > std::numeric_limits<int32_t>::max()) {
    return invalid_argument("restore: num_processed " + std::to_string(num_processed) +
                            " outside [0, 2^31)");
  }
  const int64_t b = im.options.page_size;
  int64_t need = 0;
  for (size_t l = 0; l < lanes.size(); ++l) {
    if (lanes[l].log_beta.size() != lanes[l].pos.size()) {
      return invalid_argument("restore: lane " + std::to_string(l) + " has " +
                              std::to_string(lanes[l].pos.size()) + " positions but " +
                              std::to_string(lanes[l].log_beta.size()) + " logβ values");
    }
    for (int32_t p : lanes[l].pos) {
      if (p < 0 || p >= num_processed) {
        return invalid_argument("restore: lane " + std::to_string(l) + " holds position " +
                                std::to_string(p) + " outside [0, " +
                                std::to_string(num_processed) + ")");
      }
    }
    need += (lanes[l].size() + b - 1) / b;
  }
  if (need > im.table.num_free()) {
    return resource_exhausted("KV pool full: restoring sequence " + std::to_string(seq) +
                              " needs " + std::to_string(need) + " pages, " +
                              std::to_string(im.table.num_free()) + " free");
  }
  TS_RETURN_IF_ERROR(add_sequence(seq, config));
  PoolSequence& s = im.get(seq);
  for (size_t l = 0; l < lanes.size(); ++l) {
    Lane& lane = s.lanes[l];
    lane.grow(lane.pages_needed(lanes[l].size()), im.table);
    for (int64_t i = 0; i < lanes[l].size(); ++i) {
      lane.append(lanes[l].pos[static_cast<size_t>(i)], lanes[l].log_beta[static_cast<size_t>(i)],
                  im.table);
    }
    s.stats.retained += lanes[l].size();
  }
  s.stats.offered = s.stats.retained;
  s.stats.num_processed = num_processed;
  return Status::ok_status();
}

std::vector<PageId> KvPool::release(SeqId seq) {
  std::vector<PageId> freed;
  auto it = impl_->sequences.find(seq);
  if (it == impl_->sequences.end()) return freed;
  for (Lane& lane : it->second.lanes) lane.release(impl_->table, freed);
  impl_->sequences.erase(it);
  return freed;
}

std::vector<PageId> KvPool::evict_sequence(SeqId seq, EvictionReason reason) {
  auto it = impl_->sequences.find(seq);
  if (it != impl_->sequences.end()) impl_->count_evicted(reason, it->second.stats.retained);
  return release(seq);
}

void KvPool::set_idle(SeqId seq, double now_s) {
  PoolSequence& s = impl_->get(seq);
  s.idle = true;
  s.idle_since_s = now_s;
}

void KvPool::set_running(SeqId seq) { impl_->get(seq).idle = false; }

bool KvPool::is_idle(SeqId seq) const { return impl_->get(seq).idle; }

int64_t KvPool::num_free_pages() const { return impl_->table.num_free(); }

int64_t KvPool::pages_held(SeqId seq) const {
  int64_t pages = 0;
  for (const Lane& lane : impl_->get(seq).lanes) pages += static_cast<int64_t>(lane.pages().size());
  return pages;
}

std::vector<int32_t> KvPool::lane_positions(SeqId seq, int64_t layer, int64_t head) const {
  const auto p = impl_->lane(seq, layer, head).positions();
  return {p.begin(), p.end()};
}

std::vector<float> KvPool::lane_log_beta(SeqId seq, int64_t layer, int64_t head) const {
  const auto b = impl_->lane(seq, layer, head).log_beta();
  return {b.begin(), b.end()};
}

SequenceKvStats KvPool::sequence_stats(SeqId seq) const { return impl_->get(seq).stats; }

const SequenceKvConfig& KvPool::sequence_config(SeqId seq) const { return impl_->get(seq).config; }

KvPoolStats KvPool::stats() const {
  KvPoolStats st;
  st.pages_total = impl_->table.num_pages();
  st.pages_used = impl_->table.num_used();
  st.num_sequences = static_cast<int64_t>(impl_->sequences.size());
  for (const auto& [id, s] : impl_->sequences) {
    st.entries_offered += s.stats.offered;
    if (!s.idle) {
      st.entries_running += s.stats.retained;
      continue;
    }
    ++st.num_idle;
    st.entries_idle += s.stats.retained;
    st.pages_idle += pages_held(id);
  }
  st.evicted = impl_->evicted;
  st.truncated = impl_->truncated;
  st.offered_total = impl_->offered_total;
  return st;
}

Status KvPool::check_invariants() const {
  std::vector<const Lane*> lanes;
  for (const auto& [id, s] : impl_->sequences) {
    int64_t len = 0;
    for (const Lane& lane : s.lanes) {
      lanes.push_back(&lane);
      len += lane.len();
    }
    if (len != s.stats.retained) {
      return internal_error("sequence " + std::to_string(id) + " retains " + std::to_string(len) +
                            " entries but its stats say " + std::to_string(s.stats.retained));
    }
  }
  return check_page_invariants(impl_->table, lanes);
}

}  // namespace trimserve
