// KvPool facade: sequences -> lanes -> pages, with one policy per sequence. The policy math
// lives in *_policy.cpp, the plan building in compaction.cpp; this file only routes calls and
// keeps the counters.
#include "kvpool/kv_pool.h"

#include <limits>
#include <string>

#include "common/check.h"
#include "kvpool/compaction.h"
#include "kvpool/eviction_policy.h"
#include "kvpool/lane.h"
#include "kvpool/page_invariants.h"
#include "kvpool/page_table.h"

namespace trimserve {

namespace {

constexpr int64_t kMaxLanes = int64_t{1} << 20;
constexpr int64_t kMaxPageSize = int64_t{1} << 20;

struct Sequence {
  SequenceKvConfig config;
  std::unique_ptr<EvictionPolicy> policy;
  std::vector<Lane> lanes;  // lane = layer * Hkv + head
  SequenceKvStats stats;
};

}  // namespace

struct KvPool::Impl {
  explicit Impl(const KvPoolOptions& o)
      : options(o), num_lanes(o.num_layers * o.num_kv_heads), table(o.num_pages, o.page_size) {}

  Sequence& get(SeqId seq) {
    auto it = sequences.find(seq);
    TS_CHECK_MSG(it != sequences.end(), "unknown sequence");
    return it->second;
  }
  const Sequence& get(SeqId seq) const { return const_cast<Impl*>(this)->get(seq); }

  const Lane& lane(SeqId seq, int64_t layer, int64_t head) const {
    TS_CHECK(layer >= 0 && layer < options.num_layers && head >= 0 && head < options.num_kv_heads);
    return get(seq).lanes[static_cast<size_t>(layer * options.num_kv_heads + head)];
  }

  KvPoolOptions options;
  int64_t num_lanes;
  PageTable table;
  std::unordered_map<SeqId, Sequence> sequences;
  int64_t evicted_budget = 0;
  int64_t truncated = 0;
  // Reused across calls so compress allocates nothing once warm.
  std::vector<LaneEntries> entries;
  PolicyScratch scratch;
  KeepMask keep;
};

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
  Sequence s;
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
  const Sequence& s = impl_->get(seq);
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
  Sequence& s = impl_->get(seq);
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
  s.stats.num_processed += t;
}

CompactionPlan KvPool::compress(SeqId seq) {
  CompactionPlan plan;
  compress(seq, plan);
  return plan;
}

void KvPool::compress(SeqId seq, CompactionPlan& plan) {
  Impl& im = *impl_;
  Sequence& s = im.get(seq);
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
  im.evicted_budget += plan.num_evicted;
}

Result<CompactionPlan> KvPool::truncate(SeqId seq, int64_t pos) {
  Impl& im = *impl_;
  auto it = im.sequences.find(seq);
  if (it == im.sequences.end()) {
    return not_found("truncate: unknown sequence " + std::to_string(seq));
  }
  Sequence& s = it->second;
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

std::vector<PageId> KvPool::release(SeqId seq) {
  std::vector<PageId> freed;
  auto it = impl_->sequences.find(seq);
  if (it == impl_->sequences.end()) return freed;
  for (Lane& lane : it->second.lanes) lane.release(impl_->table, freed);
  impl_->sequences.erase(it);
  return freed;
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

KvPoolStats KvPool::stats() const {
  KvPoolStats st;
  st.pages_total = impl_->table.num_pages();
  st.pages_used = impl_->table.num_used();
  st.num_sequences = static_cast<int64_t>(impl_->sequences.size());
  st.evicted_budget = impl_->evicted_budget;
  st.truncated = impl_->truncated;
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
