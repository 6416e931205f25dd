// Loading the daemon's YAML config (DESIGN.md §6): text -> ConfigNode tree -> DaemonConfig ->
// validate(). This is the only place that uses yaml-cpp; its exceptions never leave here.
//
// Errors are kInvalidArgument (kNotFound when the file cannot be opened), one per call (the
// first problem found), and name the key path plus where it was written:
//   server.port: expected an integer in [0, 65535], got "http" (at trimserve.yaml:3:9)
//   server.limits.max_bodybytes: unknown key (expected one of: max_body_bytes, ...) (at ...)
//   tenants[1].api_keys[0]: same key as tenants[0].api_keys[0] (at trimserve.yaml:40:9)
//   trimserve.yaml: invalid YAML at line 2, column 5: end of map not found
// An empty file (or one with only comments) gives the defaults, `DaemonConfig{}`.
//
// Thread-safe (no shared state).
#pragma once

#include <string>

#include "common/status.h"
#include "config/config_node.h"
#include "config/daemon_config.h"

namespace trimserve {

// Reads `path`; `path` as given names the file in messages.
Result<DaemonConfig> load_config(const std::string& path);

// Parses YAML text; `source_name` names it in messages (e.g. "trimserve.yaml", "<flags>").
Result<DaemonConfig> parse_config(const std::string& yaml_text, const std::string& source_name);

// Just the tree (no decoding, no validation). Exactly one YAML document is accepted; an
// empty one is a kNull node.
Result<ConfigNode> parse_config_tree(const std::string& yaml_text,
                                     const std::string& source_name);

}  // namespace trimserve
