// validate(): the checks a DaemonConfig needs beyond what each key's own type and range
// allow: relations between keys (ports, TLS files, chunk vs step size, session memory vs pool)
// and the tenant table (unique names and keys, digest format, weights, KV shares).
//
// It also re-checks host and ports, which command-line flags override after the file was
// loaded. Single-key ranges are otherwise enforced by the loader, where the YAML position of
// the bad value is known.
//
// Returns the first problem found as kInvalidArgument; every message starts with the key
// path, e.g. "tenants[1].name: 'alice' is already tenants[0].name". Values of API keys never
// appear in messages.
#pragma once

#include "common/status.h"
#include "config/daemon_config.h"

namespace trimserve {

Status validate(const DaemonConfig& config);

}  // namespace trimserve
