// `trimserve bench http`: load against a running OpenAI-compatible server (trimserve serve,
// or any other), measured from the client side of the socket — what a user of the API sees,
// HTTP, JSON and SSE included, which `bench batching` (in-process) leaves out.
//
// Per concurrency level C: one warm-up request (not counted), then `requests` streamed
// completions with exactly C in flight — C client threads, one kept-alive connection each,
// connected before the clock starts, each taking the next request as soon as its previous
// one ended — until all are done. Every request is greedy (temperature 0) with
// ignore_eos, so each generates exactly max_tokens and the levels do the same work.
//
// Prompts: `prompt_tokens` tokens' worth of words drawn from a fixed list by a seeded RNG,
// different for every request of the run (nothing identical to reuse), the same across runs
// with the same seed. The words per prompt are calibrated before the first level with two
// probe requests (1 and 256 words, max_tokens 1) whose usage.prompt_tokens give the server's
// tokens per word and its fixed overhead (a chat template), so the prompts come out near
// `prompt_tokens` whatever the tokenizer; the real mean is reported per level.
//
// Reported per level: requests, errors, wall time, req/s and output tok/s (successful
// requests only), TTFT and end-to-end latency p50/p99, mean inter-token latency (the gaps
// between consecutive events carrying text), and output tok/s against concurrency 1 of the
// same run (the batched-vs-sequential ratio). Failed requests are counted, never fatal; a
// failed calibration or warm-up request stops the run (the target is not serving).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "server/cli/http_load_client.h"

namespace trimserve::cli {

struct HttpBenchOptions {
  HttpTarget target;
  std::string api_key;  // "" = no Authorization header
  std::string model;    // "" = the first id GET /v1/models lists
  bool chat = false;    // /v1/chat/completions instead of /v1/completions
  std::vector<int64_t> concurrency = {1, 8, 32, 64};
  int64_t requests = 0;  // per level; 0 = default_requests(C)
  int64_t prompt_tokens = 64;
  int64_t max_tokens = 32;
  double timeout_s = 600;  // per connect / write / read (HttpLoadClient)
  uint64_t seed = 1;
};

// Requests per level when --requests is not given: four per client (so the ramp-up and the
// tail, where fewer than C are in flight, are a small part of the level), at least 16 (so
// the low levels have enough samples for their percentiles).
inline int64_t default_requests(int64_t concurrency) {
  return concurrency * 4 > 16 ? concurrency * 4 : 16;
}

struct HttpBenchLevel {
  int64_t concurrency = 0;
  int64_t requests = 0;  // sent (warm-up excluded)
  int64_t errors = 0;
  double wall_s = 0;               // first request sent to last one ended
  double requests_per_s = 0;       // successful requests / wall_s
  int64_t output_tokens = 0;       // completion_tokens of the successful requests
  double output_tokens_per_s = 0;  // output_tokens / wall_s
  double prompt_tokens_mean = 0;   // usage.prompt_tokens, successful requests
  double ttft_p50_s = 0, ttft_p99_s = 0;
  double e2e_p50_s = 0, e2e_p99_s = 0;
  double itl_mean_s = 0;
  std::optional<double> ratio_vs_sequential;  // output tok/s / level 1's; none without level 1
  std::vector<std::string> error_messages;    // distinct messages, "(xN)" appended when repeated
};

struct HttpBenchRun {
  std::string model;     // as sent in requests
  std::string endpoint;  // "/v1/completions" or "/v1/chat/completions"
  std::string started;   // UTC, ISO 8601
  int64_t words_per_prompt = 0;
  std::vector<HttpBenchLevel> levels;  // those that ran
  Status stopped;  // not ok: the run stopped early here (calibration or a warm-up failed)
};

// Runs every level in order. `progress` (may be empty) gets one line per stage, for stderr.
// Errors before any level (no model list, a failed calibration) come back in `stopped` with
// no levels.
HttpBenchRun run_http_bench(const HttpBenchOptions& options,
                            const std::function<void(const std::string&)>& progress);

// The results as one JSON document: target, model, endpoint, prompt/max tokens, host cores
// (of the machine running the benchmark), date (the start, UTC), levels — the shape of
// tests/bench/results/batching-*.json, with more fields per level.
nlohmann::ordered_json http_bench_json(const HttpBenchOptions& options, const HttpBenchRun& run);

// The same as markdown: one line of context, then the table (built from the JSON, so the two
// files cannot disagree).
std::string http_bench_markdown(const nlohmann::ordered_json& doc);

}  // namespace trimserve::cli
