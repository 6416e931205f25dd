#include "server/cli/kv_flags.h"

namespace trimserve::cli {

Result<SequenceKvConfig> resolve_kv_config(KvPolicy policy, std::optional<int64_t> budget,
                                           std::optional<int64_t> buffer,
                                           std::optional<int64_t> window_sinks,
                                           std::optional<double> floor_ratio,
                                           const ModelConfig& model) {
  return resolve_kv_settings(KvSettings{policy, budget, buffer, window_sinks, floor_ratio}, model,
                             kKvFlagNames);
}

Result<SequenceKvConfig> resolve_kv_config(const CliArgs& args, const ModelConfig& model) {
  KvSettings s;
  if (auto p = args.get("kv-policy")) {
    auto parsed = parse_kv_policy(*p);
    if (!parsed.ok()) return parsed.status().with_context("--kv-policy");
    s.policy = *parsed;
  }
  auto budget = args.get_int("kv-budget");
  if (!budget.ok()) return budget.status();
  auto buffer = args.get_int("kv-buffer");
  if (!buffer.ok()) return buffer.status();
  auto sinks = args.get_int("window-sinks");
  if (!sinks.ok()) return sinks.status();
  auto floor = args.get_double("floor-ratio");
  if (!floor.ok()) return floor.status();
  s.budget = *budget;
  s.buffer = *buffer;
  s.window_sinks = *sinks;
  s.floor_ratio = *floor;
  return resolve_kv_settings(s, model, kKvFlagNames);
}

}  // namespace trimserve::cli
