// `trimserve bench batching`: what continuous batching buys on this machine. The same
// requests (seeded prompts, greedy, fixed output length) go through the engine loop at
// concurrency 1, 8, 32, 64 (all submitted at once, the loop batches what the scheduler
// admits); reported per level: requests/s, output tokens/s, TTFT p50/p99, and the output
// throughput ratio against concurrency 1 (sequential) measured in the same run.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/status.h"
#include "server/cli/model_bundle.h"

namespace trimserve::cli {

struct BatchingBenchOptions {
  std::vector<int64_t> concurrency = {1, 8, 32, 64};
  int64_t requests = 64;      // per level
  int64_t prompt_tokens = 64;
  int64_t output_tokens = 32;
  int threads = 0;
  uint64_t seed = 1;
};

struct BatchingLevel {
  int64_t concurrency = 0;
  double wall_s = 0;
  double requests_per_s = 0;
  double output_tokens_per_s = 0;
  double ttft_p50_s = 0;
  double ttft_p99_s = 0;
  double ratio_vs_sequential = 0;
  int64_t max_batch = 0;  // most sequences in one engine step
};

Result<std::vector<BatchingLevel>> run_batching_bench(const ModelBundle& model,
                                                      const BatchingBenchOptions& options);

}  // namespace trimserve::cli
