// decode_config: ConfigNode tree -> DaemonConfig. Checks shapes, types and single-key ranges
// (every error names the key path and its position); relations between keys are validate()'s
// job, which the loader runs afterwards.
#pragma once

#include "common/status.h"
#include "config/config_node.h"
#include "config/daemon_config.h"
#include "config/map_reader.h"

namespace trimserve {

// `root` null-kind = empty document = all defaults. On error the message is also in
// ctx->status(); ctx keeps the position of every key read, for later messages.
Result<DaemonConfig> decode_config(const ConfigNode& root, DecodeContext* ctx);

}  // namespace trimserve
