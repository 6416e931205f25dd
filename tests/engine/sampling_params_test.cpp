#include "engine/sampling_params.h"

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include <catch2/catch.hpp>

using namespace trimserve;

namespace {

constexpr int64_t kVocab = 1000;

// The message validate() gives after `edit` is applied to default params ("" when ok).
std::string error_after(const std::function<void(SamplingParams&)>& edit) {
  SamplingParams p;
  edit(p);
  Status s = validate(p, kVocab);
  if (s.ok()) return "";
  CHECK(s.code() == ErrorCode::kInvalidArgument);
  return s.message();
}

}  // namespace

TEST_CASE("defaults follow vLLM and validate", "[sampling_params]") {
  SamplingParams p;
  CHECK(p.max_tokens == 16);
  CHECK(p.temperature == 1.0);
  CHECK(p.top_p == 1.0);
  CHECK(p.top_k == 0);
  CHECK(p.min_p == 0.0);
  CHECK_FALSE(p.seed.has_value());
  CHECK(p.presence_penalty == 0.0);
  CHECK(p.frequency_penalty == 0.0);
  CHECK(p.repetition_penalty == 1.0);
  CHECK(p.stop.empty());
  CHECK(p.stop_token_ids.empty());
  CHECK_FALSE(p.ignore_eos);
  CHECK_FALSE(p.logprobs);
  CHECK(p.top_logprobs == 0);
  CHECK(validate(p, kVocab).ok());
  CHECK_FALSE(is_greedy(p));
}

TEST_CASE("range boundaries are accepted", "[sampling_params]") {
  CHECK(error_after([](SamplingParams& p) { p.temperature = 0.0; }) == "");
  CHECK(error_after([](SamplingParams& p) { p.temperature = 5.0; }) == "");
  CHECK(error_after([](SamplingParams& p) { p.top_p = 1e-9; }) == "");
  CHECK(error_after([](SamplingParams& p) { p.top_k = -1; }) == "");
  CHECK(error_after([](SamplingParams& p) { p.top_k = 1; }) == "");
  CHECK(error_after([](SamplingParams& p) { p.top_k = 5000; }) == "");  // > V: disabled
  CHECK(error_after([](SamplingParams& p) { p.min_p = 1.0; }) == "");
  CHECK(error_after([](SamplingParams& p) { p.presence_penalty = -2.0; }) == "");
  CHECK(error_after([](SamplingParams& p) { p.frequency_penalty = 2.0; }) == "");
  CHECK(error_after([](SamplingParams& p) { p.repetition_penalty = 0.01; }) == "");
  CHECK(error_after([](SamplingParams& p) { p.max_tokens = 1; }) == "");
  CHECK(error_after([](SamplingParams& p) { p.stop_token_ids = {0, 999}; }) == "");
  CHECK(error_after([](SamplingParams& p) { p.stop = std::vector<std::string>(16, "x"); }) == "");
  CHECK(error_after([](SamplingParams& p) {
          p.logprobs = true;
          p.top_logprobs = 20;
        }) == "");
}

TEST_CASE("validation errors name the field and the value", "[sampling_params]") {
  const double nan = std::nan("");
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(error_after([](SamplingParams& p) { p.max_tokens = 0; }) ==
        "max_tokens must be at least 1, got 0");
  CHECK(error_after([](SamplingParams& p) { p.temperature = -0.5; }) ==
        "temperature must be a finite number >= 0, got -0.5");
  CHECK(error_after([&](SamplingParams& p) { p.temperature = nan; }) ==
        "temperature must be a finite number >= 0, got nan");
  CHECK(error_after([&](SamplingParams& p) { p.temperature = inf; }) ==
        "temperature must be a finite number >= 0, got inf");
  CHECK(error_after([](SamplingParams& p) { p.top_p = 0.0; }) == "top_p must be in (0, 1], got 0");
  CHECK(error_after([](SamplingParams& p) { p.top_p = 1.5; }) ==
        "top_p must be in (0, 1], got 1.5");
  CHECK(error_after([&](SamplingParams& p) { p.top_p = nan; }) ==
        "top_p must be in (0, 1], got nan");
  CHECK(error_after([](SamplingParams& p) { p.top_k = -2; }) ==
        "top_k must be -1 or 0 (disabled) or at least 1, got -2");
  CHECK(error_after([](SamplingParams& p) { p.min_p = 1.01; }) ==
        "min_p must be in [0, 1], got 1.01");
  CHECK(error_after([](SamplingParams& p) { p.presence_penalty = 2.5; }) ==
        "presence_penalty must be in [-2, 2], got 2.5");
  CHECK(error_after([](SamplingParams& p) { p.frequency_penalty = -3.0; }) ==
        "frequency_penalty must be in [-2, 2], got -3");
  CHECK(error_after([](SamplingParams& p) { p.repetition_penalty = 0.0; }) ==
        "repetition_penalty must be a finite number > 0, got 0");
  CHECK(error_after([](SamplingParams& p) { p.stop = std::vector<std::string>(17, "x"); }) ==
        "stop may hold at most 16 strings, got 17");
  CHECK(error_after([](SamplingParams& p) { p.stop = {"ok", ""}; }) ==
        "stop[1] must not be empty");
  CHECK(error_after([](SamplingParams& p) { p.stop = {std::string(257, 'a')}; }) ==
        "stop[0] must be at most 256 bytes, got 257");
  CHECK(error_after([](SamplingParams& p) { p.stop_token_ids = {3, 1000}; }) ==
        "stop_token_ids[1] must be in [0, 1000), got 1000");
  CHECK(error_after([](SamplingParams& p) { p.stop_token_ids = {-1}; }) ==
        "stop_token_ids[0] must be in [0, 1000), got -1");
  CHECK(error_after([](SamplingParams& p) { p.stop_token_ids = std::vector<int32_t>(65, 1); }) ==
        "stop_token_ids may hold at most 64 ids, got 65");
  CHECK(error_after([](SamplingParams& p) {
          p.logprobs = true;
          p.top_logprobs = 21;
        }) == "top_logprobs must be in [0, 20], got 21");
  CHECK(error_after([](SamplingParams& p) { p.top_logprobs = 3; }) ==
        "top_logprobs requires logprobs to be true");
}

TEST_CASE("greedy below the epsilon temperature", "[sampling_params]") {
  SamplingParams p;
  p.temperature = 0.0;
  CHECK(is_greedy(p));
  p.temperature = 0.5e-5;
  CHECK(is_greedy(p));
  p.temperature = 1e-5;
  CHECK_FALSE(is_greedy(p));
}
