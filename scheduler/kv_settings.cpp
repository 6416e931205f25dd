#include "scheduler/kv_settings.h"

#include <algorithm>

namespace trimserve {

namespace {

std::string name(const char* n) { return n; }

bool uses_budget(KvPolicy p) { return p != KvPolicy::kFull; }

}  // namespace

Result<SequenceKvConfig> resolve_kv_settings(const KvSettings& s, const ModelConfig& model,
                                             const KvSettingNames& names) {
  SequenceKvConfig kv;
  const bool gated = model.has_retention_gates();
  kv.policy = s.policy.value_or(gated ? KvPolicy::kTrimKvGlobal : KvPolicy::kFull);
  if ((kv.policy == KvPolicy::kTrimKv || kv.policy == KvPolicy::kTrimKvGlobal) && !gated) {
    return invalid_argument(name(names.policy) + " " + kv_policy_name(kv.policy) +
                            " needs a model with retention gates; this one has none (use full or "
                            "window)");
  }
  if (s.budget) {
    if (*s.budget < 1) {
      return invalid_argument(name(names.budget) + " must be >= 1, got " +
                              std::to_string(*s.budget));
    }
    // The pool's own limit (kvpool/eviction_policy.cpp), reported here under the key's name.
    if (*s.budget > (int64_t{1} << 31)) {
      return invalid_argument(name(names.budget) + " must be <= 2^31, got " +
                              std::to_string(*s.budget));
    }
    kv.budget = *s.budget;
  } else if (uses_budget(kv.policy)) {
    if (model.memory_size < 1) {
      return invalid_argument(name(names.policy) + " " + kv_policy_name(kv.policy) + " needs " +
                              names.budget + " (the model declares no memory_size)");
    }
    kv.budget = model.memory_size;
  }
  kv.buffer = s.buffer.value_or(model.buffer_size);
  if (kv.buffer < 0) {
    return invalid_argument(name(names.buffer) + " must be >= 0, got " + std::to_string(kv.buffer));
  }
  kv.window_sinks = s.window_sinks.value_or(4);
  if (kv.window_sinks < 0) return invalid_argument(name(names.window_sinks) + " must be >= 0");
  if (kv.policy == KvPolicy::kWindow && kv.window_sinks >= kv.budget) {
    return invalid_argument(name(names.window_sinks) + " (" + std::to_string(kv.window_sinks) +
                            ") must be smaller than " + names.budget + " (" +
                            std::to_string(kv.budget) + ")");
  }
  kv.floor_ratio = s.floor_ratio.value_or(model.floor_budget_ratio);
  if (!(kv.floor_ratio >= 0.0 && kv.floor_ratio < 1.0)) {
    return invalid_argument(name(names.floor_ratio) + " must be in [0, 1), got " +
                            std::to_string(kv.floor_ratio));
  }
  return kv;
}

Result<SequenceKvConfig> resolve_config_kv(const DaemonConfig::KvPool& kvpool,
                                           const ModelConfig& model) {
  KvSettings s;
  if (kvpool.policy != "auto") {
    auto p = parse_kv_policy(kvpool.policy);
    if (!p.ok()) return p.status().with_context(kKvConfigNames.policy);
    s.policy = *p;
  }
  if (kvpool.budget != 0) s.budget = kvpool.budget;
  if (kvpool.buffer != 0) s.buffer = kvpool.buffer;
  s.window_sinks = kvpool.window_sinks;
  s.floor_ratio = kvpool.floor_ratio;
  return resolve_kv_settings(s, model, kKvConfigNames);
}

Result<SequenceKvConfig> resolve_request_kv(const SequenceKvConfig& defaults,
                                            const KvRequest& request, int64_t tenant_cap,
                                            const ModelConfig& model) {
  const std::string cap_text = " the tenant's kv_budget_cap of " + std::to_string(tenant_cap) +
                               " entries per lane";
  KvSettings s;
  s.policy = defaults.policy;
  s.budget = uses_budget(defaults.policy) ? std::optional<int64_t>(defaults.budget) : std::nullopt;
  s.buffer = defaults.buffer;
  s.window_sinks = defaults.window_sinks;
  s.floor_ratio = defaults.floor_ratio;
  if (request.policy) {
    auto p = parse_kv_policy(*request.policy);
    if (!p.ok()) return p.status().with_context("kv_policy");
    if (*p != defaults.policy && !request.budget && uses_budget(*p)) {
      s.budget = std::nullopt;  // the model's budget for the new policy unless one is given
    }
    s.policy = *p;
  }
  if (request.budget) s.budget = request.budget;
  if (tenant_cap > 0) {
    if (request.policy && *s.policy == KvPolicy::kFull) {
      return invalid_argument("kv_policy full keeps every entry, which" + cap_text +
                              " does not allow");
    }
    if (request.budget && *request.budget > tenant_cap) {
      return invalid_argument("kv_budget " + std::to_string(*request.budget) + " exceeds" +
                              cap_text);
    }
    if (*s.policy == KvPolicy::kFull) s.policy = KvPolicy::kWindow;
    const int64_t wanted =
        s.budget ? *s.budget : (model.memory_size >= 1 ? model.memory_size : tenant_cap);
    s.budget = std::min(wanted, tenant_cap);
    // Window sinks must stay below a lowered budget.
    if (*s.policy == KvPolicy::kWindow) s.window_sinks = std::min(*s.window_sinks, *s.budget - 1);
  }
  static constexpr KvSettingNames kRequestNames{"kv_policy", "kv_budget", "kv_buffer",
                                                "window_sinks", "floor_ratio"};
  return resolve_kv_settings(s, model, kRequestNames);
}

}  // namespace trimserve
