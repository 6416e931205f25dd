// KV settings of a sequence, resolved from what the user gave against the model — one set of
// rules for every front end: `trimserve generate` flags, the daemon's kvpool.* config keys,
// and a request's kv_policy / kv_budget under its tenant's cap (DESIGN.md §4 "Budgets").
//
// Defaults: policy trimkv-global when the model has retention gates, else full; budget = the
// model's memory_size (M per lane; trimkv-global keeps M*L*Hkv in total); buffer = the
// model's buffer_size; floor ratio = the model's floor_budget_ratio; window sinks 4.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "config/daemon_config.h"
#include "engine/model_config.h"
#include "kvpool/types.h"

namespace trimserve {

// What errors call each setting: flags, config keys or request fields.
struct KvSettingNames {
  const char* policy;
  const char* budget;
  const char* buffer;
  const char* window_sinks;
  const char* floor_ratio;
};
inline constexpr KvSettingNames kKvFlagNames{"--kv-policy", "--kv-budget", "--kv-buffer",
                                             "--window-sinks", "--floor-ratio"};
inline constexpr KvSettingNames kKvConfigNames{"kvpool.policy", "kvpool.budget", "kvpool.buffer",
                                               "kvpool.window_sinks", "kvpool.floor_ratio"};

// Unset fields take the defaults above.
struct KvSettings {
  std::optional<KvPolicy> policy;
  std::optional<int64_t> budget;
  std::optional<int64_t> buffer;
  std::optional<int64_t> window_sinks;
  std::optional<double> floor_ratio;
};

// Errors (kInvalidArgument, naming the setting): budget < 1, a gate policy on a model without
// gates, an evicting policy without a budget on a model without memory_size, buffer < 0,
// sinks < 0 or >= budget (window), floor ratio outside [0, 1).
Result<SequenceKvConfig> resolve_kv_settings(const KvSettings& settings, const ModelConfig& model,
                                             const KvSettingNames& names);

// The daemon's defaults from its kvpool.* keys: policy "auto" (= the default above), budget
// and buffer 0 (= the model's), floor_ratio unset (= the model's). Errors name the keys.
Result<SequenceKvConfig> resolve_config_kv(const DaemonConfig::KvPool& kvpool,
                                           const ModelConfig& model);

// A request's extensions (HTTP kv_policy / kv_budget, the same gRPC fields).
struct KvRequest {
  std::optional<std::string> policy;
  std::optional<int64_t> budget;
};

// The request's settings: `defaults` (the daemon's, already resolved) with the request's
// policy and budget on top, within the tenant's cap on entries per lane (0 = no cap):
//   - an explicit kv_budget above the cap, or kv_policy full under a cap, is refused
//     (kInvalidArgument naming the field and the cap);
//   - a default budget above the cap is lowered to it, and a default policy of full becomes
//     window with budget = cap, so a capped tenant is bounded whatever the defaults.
// Other errors as resolve_kv_settings, naming kv_policy / kv_budget.
Result<SequenceKvConfig> resolve_request_kv(const SequenceKvConfig& defaults,
                                            const KvRequest& request, int64_t tenant_cap,
                                            const ModelConfig& model);

}  // namespace trimserve
