// Model fingerprint: a short string that changes whenever cached K/V computed by one model
// would be wrong for another — the identity persisted sessions are stamped with
// (kvpool/session_file.h), so a session written under one model is never resumed under a
// different or retrained one.
//
// It names the architecture and KV shape (L, Hkv, D, V, RoPE theta) and a CRC-32C over every
// weight tensor, retention gates included (saved logβ came from them): each tensor's shape
// and, for tensors up to 64 Ki floats, all of its values; for larger ones its first and last
// 4 Ki values and 64 evenly spaced runs of 256 (so a 16 GB checkpoint costs milliseconds, and
// any retraining, which moves every weight, shows).
// Example: "qwen3 L8 Hkv2 D64 V2048 theta=1e+06 w=3f0c9a12".
//
// Pure function of the loaded weights; thread-safe.
#pragma once

#include <string>

#include "engine/weights.h"

namespace trimserve {

std::string model_fingerprint(const ModelWeights& weights);

}  // namespace trimserve
