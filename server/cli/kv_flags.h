// The KV flags shared by `generate` and `eval`: --kv-policy, --kv-budget, --kv-buffer,
// --window-sinks, --floor-ratio, resolved against the model's TrimKV config.json fields.
//
// The rules and defaults are scheduler/kv_settings.h's (shared with the daemon's config and
// requests); errors here name the flags.
#pragma once

#include <optional>
#include <string>

#include "common/status.h"
#include "engine/model_config.h"
#include "kvpool/types.h"
#include "scheduler/kv_settings.h"
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
