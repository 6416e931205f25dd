#include "kvpool/types.h"

namespace trimserve {

const char* kv_policy_name(KvPolicy policy) {
  switch (policy) {
    case KvPolicy::kFull: return "full";
    case KvPolicy::kWindow: return "window";
    case KvPolicy::kTrimKv: return "trimkv";
    case KvPolicy::kTrimKvGlobal: return "trimkv-global";
  }
  return "?";
}

Result<KvPolicy> parse_kv_policy(const std::string& text) {
  for (KvPolicy p : {KvPolicy::kFull, KvPolicy::kWindow, KvPolicy::kTrimKv, KvPolicy::kTrimKvGlobal}) {
    if (text == kv_policy_name(p)) return p;
  }
  return invalid_argument("unknown value '" + text +
                          "' (expected full|window|trimkv|trimkv-global)");
}

const char* eviction_reason_name(EvictionReason reason) {
  switch (reason) {
    case EvictionReason::kBudget: return "budget";
    case EvictionReason::kGlobalPressure: return "global_pressure";
    case EvictionReason::kSessionExpired: return "session_expired";
    case EvictionReason::kSessionDeleted: return "session_deleted";
    case EvictionReason::kSessionLimit: return "session_limit";
    case EvictionReason::kPreempted: return "preempted";
  }
  return "unknown";
}

}  // namespace trimserve
