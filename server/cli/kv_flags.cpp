#include "server/cli/kv_flags.h"

namespace trimserve::cli {

Result<SequenceKvConfig> resolve_kv_config(KvPolicy policy, std::optional<int64_t> budget,
                                           std::optional<int64_t> buffer,
                                           std::optional<int64_t> window_sinks,
                                           std::optional<double> floor_ratio,
                                           const ModelConfig& model) {
  SequenceKvConfig kv;
  kv.policy = policy;
  const bool gated = model.has_retention_gates();
  if ((policy == KvPolicy::kTrimKv || policy == KvPolicy::kTrimKvGlobal) && !gated) {
    return invalid_argument(std::string("--kv-policy ") + kv_policy_name(policy) +
                            " needs a model with retention gates; this one has none (use full or window)");
  }
  if (budget) {
    if (*budget < 1) return invalid_argument("--kv-budget must be >= 1, got " + std::to_string(*budget));
    kv.budget = *budget;
  } else if (policy != KvPolicy::kFull) {
    if (model.memory_size < 1) {
      return invalid_argument(std::string("--kv-policy ") + kv_policy_name(policy) +
                              " needs --kv-budget (the model declares no memory_size)");
    }
    kv.budget = model.memory_size;
  }
  kv.buffer = buffer.value_or(model.buffer_size);
  if (kv.buffer < 0) return invalid_argument("--kv-buffer must be >= 0, got " + std::to_string(kv.buffer));
  kv.window_sinks = window_sinks.value_or(4);
  if (kv.window_sinks < 0) return invalid_argument("--window-sinks must be >= 0");
  if (policy == KvPolicy::kWindow && kv.window_sinks >= kv.budget) {
    return invalid_argument("--window-sinks (" + std::to_string(kv.window_sinks) +
                            ") must be smaller than --kv-budget (" + std::to_string(kv.budget) + ")");
  }
  kv.floor_ratio = floor_ratio.value_or(model.floor_budget_ratio);
  if (!(kv.floor_ratio >= 0.0 && kv.floor_ratio < 1.0)) {
    return invalid_argument("--floor-ratio must be in [0, 1), got " + std::to_string(kv.floor_ratio));
  }
  return kv;
}

Result<SequenceKvConfig> resolve_kv_config(const CliArgs& args, const ModelConfig& model) {
  KvPolicy policy = model.has_retention_gates() ? KvPolicy::kTrimKvGlobal : KvPolicy::kFull;
  if (auto p = args.get("kv-policy")) {
    auto parsed = parse_kv_policy(*p);
    if (!parsed.ok()) return parsed.status().with_context("--kv-policy");
    policy = *parsed;
  }
  auto budget = args.get_int("kv-budget");
  if (!budget.ok()) return budget.status();
  auto buffer = args.get_int("kv-buffer");
  if (!buffer.ok()) return buffer.status();
  auto sinks = args.get_int("window-sinks");
  if (!sinks.ok()) return sinks.status();
  auto floor = args.get_double("floor-ratio");
  if (!floor.ok()) return floor.status();
  return resolve_kv_config(policy, *budget, *buffer, *sinks, *floor, model);
}

}  // namespace trimserve::cli
