// The KV flags shared by `generate` and `eval`: --kv-policy, --kv-budget, --kv-buffer,
// --window-sinks, --floor-ratio, resolved against the model's TrimKV config.json fields.
//
// Defaults: policy trimkv-global when the model has retention gates, else full; budget = the
// model's memory_size (required on the command line for window on a gateless model); buffer =
// the model's buffer_size (0 when absent); floor ratio = the model's floor_budget_ratio.
#pragma once

#include <optional>
#include <string>

#include "common/status.h"
#include "engine/model_config.h"
#include "kvpool/types.h"
#include "server/cli/cli_args.h"

namespace trimserve::cli {

inline const char* const kKvValueFlags[] = {"kv-policy", "kv-budget", "kv-buffer", "window-sinks",
                                            "floor-ratio"};

// Errors (kInvalidArgument, naming the flag): unknown policy, budget < 1, a gate policy on a
// model without gates, sinks >= budget, floor ratio outside [0, 1).
Result<SequenceKvConfig> resolve_kv_config(const CliArgs& args, const ModelConfig& model);

// Same, from already-parsed values (eval iterates over policies and budgets).
Result<SequenceKvConfig> resolve_kv_config(KvPolicy policy, std::optional<int64_t> budget,
                                           std::optional<int64_t> buffer,
                                           std::optional<int64_t> window_sinks,
                                           std::optional<double> floor_ratio,
                                           const ModelConfig& model);

}  // namespace trimserve::cli
