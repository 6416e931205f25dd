// The final KV state of one sequence as JSON, for `generate --dump-kv` (tests compare it with
// tools/reference.py --dump-kv): {"lanes": [[pos...] per lane l*Hkv+h], "log_beta": [[...]],
// "retained", "offered", "num_processed"}.
#pragma once

#include <nlohmann/json.hpp>

#include "engine/model_config.h"
#include "kvpool/kv_pool.h"

namespace trimserve::cli {

nlohmann::json dump_kv(const KvPool& pool, SeqId seq, const ModelConfig& model);

}  // namespace trimserve::cli
