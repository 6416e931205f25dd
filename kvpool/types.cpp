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

}  // namespace trimserve
