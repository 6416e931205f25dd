// The multi-turn session benchmark behind `trimserve bench sessions` (issue 4's measurement):
// N synthetic conversations of T turns each share one KV pool sized to a fraction of what
// their full caches would need, so global pressure, idle decay, LRU drops and (optionally)
// session files all come into play. It reports how much of each prompt the sessions served
// from cache, what was evicted and why, and how far the resulting next-token distributions
// drift from policy full with unlimited memory (mean KL per generated token), by replaying
// every transcript under full.
//
// Conversations are scripted in token ids (seeded, the same script for every configuration):
// each turn appends `user_tokens` random ids to the transcript and generates `reply_tokens`
// greedily. Turns run round-robin (conversation 0..N-1 take turn 1, then turn 2, ...), one at
// a time: concurrency here means sessions competing for the pool, not batched steps. A
// virtual clock advances `think_time_s` per turn, so idle decay sees conversation time, not
// this machine's speed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/weights.h"
#include "kvpool/types.h"
#include "scheduler/session_manager.h"

namespace trimserve::cli {

struct SessionBenchOptions {
  std::string name;  // label of this configuration in the results
  int64_t conversations = 8;
  int64_t turns = 20;
  int64_t user_tokens = 48;
  int64_t reply_tokens = 16;
  double pool_fraction = 0.1;  // of the full-cache size of all conversations; <= 0: unlimited
  std::string session_dir;     // "" = sessions in memory only
  SequenceKvConfig kv;
  int64_t page_size = 16;
  int64_t prefill_chunk = 64;
  int threads = 0;
  double idle_decay_per_s = 0.01;
  double low_watermark = 0.05;
  double think_time_s = 5.0;
  uint64_t seed = 1;
};

// One conversation as it ran: per turn the whole prompt and the reply tokens, and the
// distribution (logits) every reply token was chosen from.
struct ConversationLog {
  std::vector<std::vector<int32_t>> prompts;
  std::vector<std::vector<int32_t>> replies;
  std::vector<float> logits;  // [reply tokens of all turns, V], in order
};

struct SessionBenchResult {
  SessionBenchOptions options;
  int64_t pool_pages = 0;
  int64_t full_cache_pages = 0;  // what every conversation's whole transcript would need
  int64_t turns = 0;
  int64_t failed_turns = 0;  // a step that could not fit (none when the pool holds one sequence)
  int64_t memory_hits = 0;   // turns resumed from a session resident in the pool
  int64_t disk_hits = 0;     // turns resumed from a session file
  int64_t misses = 0;        // later turns that found no session and recomputed the history
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;
  double mean_resident_sessions = 0;  // idle sessions in the pool after each turn, averaged
  SessionStats stats;                 // at the end
  double wall_s = 0;
  double tokens_per_s = 0;  // prefilled + generated tokens per wall second
  std::vector<ConversationLog> logs;
  // Drift against policy full with unlimited memory, over every reply token.
  double mean_kl = 0;
  double max_kl = 0;
  double top1_agreement = 0;  // fraction of reply tokens that are full's argmax as well
};

// Runs one configuration. Errors: invalid options, engine errors.
Result<SessionBenchResult> run_session_bench(std::shared_ptr<const ModelWeights> weights,
                                             const SessionBenchOptions& options);

// Replays every transcript of `result` under policy full with unlimited memory and fills the
// drift fields.
Status measure_drift(std::shared_ptr<const ModelWeights> weights, SessionBenchResult& result);

}  // namespace trimserve::cli
