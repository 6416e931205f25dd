#include "kvpool/eviction_policy.h"

#include <string>

#include "common/check.h"

namespace trimserve {

namespace {
constexpr int64_t kMaxBudget = int64_t{1} << 31;
}  // namespace

void KeepMask::reset(std::span<const LaneEntries> lanes) {
  offset_.resize(lanes.size() + 1);
  offset_[0] = 0;
  for (size_t l = 0; l < lanes.size(); ++l) offset_[l + 1] = offset_[l] + lanes[l].size();
  keep_.assign(static_cast<size_t>(offset_.back()), 1);
}

std::span<uint8_t> KeepMask::lane(int64_t l) {
  TS_CHECK(l >= 0 && l < num_lanes());
  const auto b = static_cast<size_t>(offset_[static_cast<size_t>(l)]);
  const auto e = static_cast<size_t>(offset_[static_cast<size_t>(l) + 1]);
  return std::span<uint8_t>(keep_).subspan(b, e - b);
}

std::span<const uint8_t> KeepMask::lane(int64_t l) const {
  return const_cast<KeepMask*>(this)->lane(l);
}

Status validate_sequence_kv_config(const SequenceKvConfig& config) {
  const bool evicts = config.policy != KvPolicy::kFull;
  const std::string policy = kv_policy_name(config.policy);
  if (evicts && config.budget < 1) {
    return invalid_argument("budget must be >= 1 for policy " + policy + ", got " +
                            std::to_string(config.budget));
  }
  if (config.budget > kMaxBudget) {
    return invalid_argument("budget must be <= 2^31, got " + std::to_string(config.budget));
  }
  if (config.buffer < 0 || config.buffer > kMaxBudget) {
    return invalid_argument("buffer must be in [0, 2^31], got " + std::to_string(config.buffer));
  }
  // Written so that NaN fails too.
  if (!(config.floor_ratio >= 0.0 && config.floor_ratio < 1.0)) {
    return invalid_argument("floor_ratio must be in [0, 1), got " +
                            std::to_string(config.floor_ratio));
  }
  if (config.policy == KvPolicy::kWindow &&
      (config.window_sinks < 0 || config.window_sinks >= config.budget)) {
    return invalid_argument("window_sinks must be in [0, budget) = [0, " +
                            std::to_string(config.budget) + "), got " +
                            std::to_string(config.window_sinks));
  }
  return Status::ok_status();
}

std::unique_ptr<EvictionPolicy> make_eviction_policy(const SequenceKvConfig& config) {
  TS_CHECK(validate_sequence_kv_config(config).ok());
  switch (config.policy) {
    case KvPolicy::kFull:
      return make_full_policy();
    case KvPolicy::kWindow:
      return make_window_policy(config.budget, config.buffer, config.window_sinks);
    case KvPolicy::kTrimKv:
      return make_trimkv_policy(config.budget, config.buffer);
    case KvPolicy::kTrimKvGlobal:
      return make_trimkv_global_policy(config.budget, config.buffer, config.floor_ratio);
  }
  TS_CHECK_MSG(false, "unknown KvPolicy");
  return nullptr;
}

}  // namespace trimserve
