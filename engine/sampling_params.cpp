#include "engine/sampling_params.h"

#include <fmt/format.h>

#include <cmath>

#include "common/check.h"

namespace trimserve {

namespace {

// Every comparison is written so that NaN fails it: a NaN from a JSON parser must be rejected,
// never slip through as "not greater than the limit".
bool in_closed(double x, double lo, double hi) { return x >= lo && x <= hi; }

}  // namespace

Status validate(const SamplingParams& p, int64_t vocab_size) {
  TS_CHECK(vocab_size > 0);
  if (p.max_tokens < 1) {
    return invalid_argument(fmt::format("max_tokens must be at least 1, got {}", p.max_tokens));
  }
  if (!(std::isfinite(p.temperature) && p.temperature >= 0.0)) {
    return invalid_argument(
        fmt::format("temperature must be a finite number >= 0, got {}", p.temperature));
  }
  if (!(p.top_p > 0.0 && p.top_p <= 1.0)) {
    return invalid_argument(fmt::format("top_p must be in (0, 1], got {}", p.top_p));
  }
  if (p.top_k < -1) {
    return invalid_argument(
        fmt::format("top_k must be -1 or 0 (disabled) or at least 1, got {}", p.top_k));
  }
  if (!in_closed(p.min_p, 0.0, 1.0)) {
    return invalid_argument(fmt::format("min_p must be in [0, 1], got {}", p.min_p));
  }
  if (!in_closed(p.presence_penalty, -2.0, 2.0)) {
    return invalid_argument(
        fmt::format("presence_penalty must be in [-2, 2], got {}", p.presence_penalty));
  }
  if (!in_closed(p.frequency_penalty, -2.0, 2.0)) {
    return invalid_argument(
        fmt::format("frequency_penalty must be in [-2, 2], got {}", p.frequency_penalty));
  }
  if (!(std::isfinite(p.repetition_penalty) && p.repetition_penalty > 0.0)) {
    return invalid_argument(fmt::format(
        "repetition_penalty must be a finite number > 0, got {}", p.repetition_penalty));
  }
  if (p.stop.size() > kMaxStopStrings) {
    return invalid_argument(fmt::format("stop may hold at most {} strings, got {}",
                                        kMaxStopStrings, p.stop.size()));
  }
  for (size_t i = 0; i < p.stop.size(); ++i) {
    if (p.stop[i].empty()) {
      return invalid_argument(fmt::format("stop[{}] must not be empty", i));
    }
    if (p.stop[i].size() > kMaxStopStringBytes) {
      return invalid_argument(fmt::format("stop[{}] must be at most {} bytes, got {}", i,
                                          kMaxStopStringBytes, p.stop[i].size()));
    }
  }
  if (p.stop_token_ids.size() > kMaxStopTokenIds) {
    return invalid_argument(fmt::format("stop_token_ids may hold at most {} ids, got {}",
                                        kMaxStopTokenIds, p.stop_token_ids.size()));
  }
  for (size_t i = 0; i < p.stop_token_ids.size(); ++i) {
    int32_t id = p.stop_token_ids[i];
    if (id < 0 || id >= vocab_size) {
      return invalid_argument(fmt::format("stop_token_ids[{}] must be in [0, {}), got {}", i,
                                          vocab_size, id));
    }
  }
  if (p.top_logprobs < 0 || p.top_logprobs > kMaxTopLogprobs) {
    return invalid_argument(fmt::format("top_logprobs must be in [0, {}], got {}",
                                        kMaxTopLogprobs, p.top_logprobs));
  }
  if (p.top_logprobs > 0 && !p.logprobs) {
    return invalid_argument("top_logprobs requires logprobs to be true");
  }
  return Status::ok_status();
}

bool is_greedy(const SamplingParams& params) { return params.temperature < kGreedyTemperature; }

}  // namespace trimserve
