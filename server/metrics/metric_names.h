// The Prometheus naming rules for metric and label names (text format 0.0.4). Names are
// written in code, never taken from input, so the Registry TS_CHECKs them with these.
//
// Thread-safe pure functions.
#pragma once

#include <string_view>

namespace trimserve::metrics {

// [a-zA-Z_:][a-zA-Z0-9_:]* — colons are allowed (vLLM's "vllm:..." names use them).
bool is_valid_metric_name(std::string_view name);

// [a-zA-Z_][a-zA-Z0-9_]* and not starting with "__" (reserved for Prometheus itself).
bool is_valid_label_name(std::string_view name);

}  // namespace trimserve::metrics
