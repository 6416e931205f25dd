// EngineLoop: the one thread that owns mutable inference state (DESIGN.md §7.5) — the
// Scheduler, the KvPool, the SessionManager and the Engine — and turns submitted requests into
// engine steps and streamed tokens.
//
// Transports call submit() and read the returned TokenStream from their own threads; nothing
// else crosses threads. One iteration:
//   1. take new requests from the inbox: register a sequence (a session turn resumes its
//      cached prefix), queue it in the scheduler; drop cancelled ones;
//   2. pause requests whose stream is full, resume those that drained (backpressure);
//   3. ask the scheduler for a plan; preempted requests lose their cache (truncated to 0,
//      recomputed later); make room for the whole step (global pressure), reserve, run ONE
//      engine step for every sequence of the plan, append and compress each sequence;
//   4. sample for every request that reached the end of its prompt or decodes, stream the
//      token, finish requests (EOS, stop, length); finished session turns are parked.
//
// step_once() runs one iteration on the caller's thread (tests drive it without threads);
// start() runs iterations on a thread of its own until stop().
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/output_processor.h"
#include "engine/sampling_params.h"
#include "engine/tokenizer.h"
#include "kvpool/kv_pool.h"
#include "scheduler/scheduler.h"
#include "scheduler/session_manager.h"
#include "scheduler/token_stream.h"

namespace trimserve {

struct GenerationRequest {
  using Clock = std::chrono::steady_clock;
  std::string tenant = "default";
  std::vector<int32_t> prompt;  // token ids, >= 1
  SamplingParams sampling;      // validated by the transport against the model
  SequenceKvConfig kv;          // resolved (scheduler/kv_settings.h)
  std::optional<std::string> session_id;
  size_t stream_capacity = 64;  // events buffered before the request pauses
  // Past this instant the loop ends the request with kDeadlineExceeded at its next iteration,
  // wherever it is (queued, running, paused); its sequence is freed like a cancel's.
  std::optional<Clock::time_point> deadline;
};

struct EngineLoopStats {
  int64_t steps = 0;
  int64_t tokens_prefilled = 0;
  int64_t tokens_decoded = 0;
  int64_t max_batch_sequences = 0;  // most sequences in one engine step
  int64_t preemptions = 0;
  int64_t errors = 0;             // requests ended by an engine or memory error
  int64_t deadlines_exceeded = 0;
  int64_t too_large = 0;          // refused: more KV pages than the pool or the tenant's share
  bool last_step_failed = false;  // the engine's last step returned an error
  int64_t in_flight = 0;  // requests admitted or queued and not finished
  // Loop iterations completed (about 5 a second when idle). Stats are published at the end of
  // an iteration, so a request submitted just now shows in in_flight only once an iteration
  // that began after its submission has ended: wait for two more before trusting a 0.
  int64_t iterations = 0;
  int64_t running = 0;    // in the scheduler's running batch
  int64_t waiting = 0;    // queued in the scheduler
  SessionStats sessions;  // KV pool and sessions (SessionManager::stats)
};

// One engine step, as the step observer sees it (metrics: batch sizes, queue times).
struct StepRecord {
  int64_t sequences = 0;       // requests in the step
  int64_t tokens = 0;          // prefill + decode tokens
  double seconds = 0;          // the engine's forward pass
  std::vector<double> queue_s;  // requests first admitted by this step: seconds since submit
};
using StepObserver = std::function<void(const StepRecord&)>;

class EngineLoop {
 public:
  // All references must outlive the loop.
  EngineLoop(Engine& engine, KvPool& pool, SessionManager& sessions, Scheduler& scheduler,
             const Tokenizer& tokenizer, std::vector<int64_t> eos_token_ids);
  ~EngineLoop();  // stop()s

  // Thread-safe. The stream carries tokens, then one finished or error event (errors: a busy
  // session, an unknown tenant, no room in the pool — each as a Status).
  std::shared_ptr<TokenStream> submit(GenerationRequest request);

  // Thread-safe. Runs `task` on the loop thread at its next iteration (before new requests are
  // admitted), with the sessions to itself: how transports read or delete a session. After
  // stop() the task runs on the caller's thread at once.
  void post(std::function<void(SessionManager&)> task);

  // Called on the loop thread after every engine step; set before start().
  void set_step_observer(StepObserver observer) { step_observer_ = std::move(observer); }

  // What a failed engine step does beyond failing the requests in it (which always happens):
  // healthy() is false for `unready` after the failure (0: until the next step succeeds), and
  // `on_error` (if set) runs on the loop thread with the step's error, after its requests got
  // it — the daemon's engine.on_step_error: exit hangs off it. Set before start().
  void set_step_error_policy(std::chrono::steady_clock::duration unready,
                             std::function<void(const Status&)> on_error) {
    step_error_unready_ = unready;
    on_step_error_ = std::move(on_error);
  }

  // One iteration; returns false when there was nothing to do.
  bool step_once();

  void start();
  // Stops the thread; requests still in flight get a kUnavailable error event.
  void stop();

  // Thread-safe; as of the last finished iteration.
  EngineLoopStats stats() const;

  // Thread-safe: the loop thread runs and no engine step failed lately: a failing step fails
  // its requests and the loop keeps going, unhealthy for the step-error policy's `unready`
  // time (or, with 0, until a step succeeds). What GET /ready reports, with draining.
  bool healthy() const;

  // Thread-safe: requests submitted and not yet running (the inbox plus the scheduler's
  // queue) — what server.limits.max_queue bounds. Exact for submits; admissions show at the
  // end of the loop's iteration.
  int64_t queued() const;

 private:
  struct Submitted {
    GenerationRequest request;
    std::shared_ptr<TokenStream> stream;
    std::chrono::steady_clock::time_point at;
  };
  struct Active {
    GenerationRequest spec;
    std::shared_ptr<TokenStream> stream;
    std::vector<int32_t> tokens;  // prompt, then every sampled token
    std::unique_ptr<OutputProcessor> output;
    int64_t cached_tokens = 0;
    bool paused = false;
    std::chrono::steady_clock::time_point submitted;
    bool scheduled = false;  // the scheduler admitted it once (re-admissions after a
                             // preemption are not queue time)
  };

  void take_inbox();
  void admit(RequestId id, Submitted submitted);
  // Ends requests whose client cancelled or whose deadline passed.
  void drop_cancelled();
  // Keeps every tenant with a KV share (max_pages) under it: drops its least recently used
  // idle sessions so that they, its requests and the plan's new pages fit.
  void enforce_kv_shares(const BatchPlan& plan);
  // Pages held by the requests (running or waiting) of each tenant with a KV share.
  std::map<std::string, int64_t> request_pages_by_tenant() const;
  void apply_backpressure();
  bool run_plan(const BatchPlan& plan);
  // Ends a request: parks a session turn or releases the sequence.
  void retire(RequestId id, bool success);
  // Ends a request with `error`; `count_error` for engine/memory failures (stats.errors).
  void fail(RequestId id, const Status& error, bool count_error = true);
  // The soonest deadline of a request in flight (how long the idle loop may sleep).
  std::optional<GenerationRequest::Clock::time_point> next_deadline() const;
  void wake();

  Engine& engine_;
  KvPool& pool_;
  SessionManager& sessions_;
  Scheduler& scheduler_;
  const Tokenizer& tokenizer_;
  std::vector<int64_t> eos_;
  const std::map<std::string, int64_t> kv_shares_;  // tenant -> max_pages (fixed at creation)
  std::map<RequestId, Active> active_;
  std::map<RequestId, SeqId> seqs_;  // a session turn runs on its session's sequence
  CompactionPlan plan_;
  EngineLoopStats stats_;
  StepObserver step_observer_;

  // Shared with submitters.
  mutable std::mutex mu_;
  std::optional<std::chrono::steady_clock::time_point> last_step_failure_;  // guarded by mu_
  std::chrono::steady_clock::duration step_error_unready_{};
  std::function<void(const Status&)> on_step_error_;
  std::condition_variable cv_;
  std::vector<Submitted> inbox_;
  std::vector<std::function<void(SessionManager&)>> tasks_;
  bool woken_ = false;
  EngineLoopStats published_stats_;  // stats_ as of the last iteration
  int64_t queued_ = 0;
  bool stopping_ = false;
  bool thread_running_ = false;  // start() ran and stop() has not
  RequestId next_id_ = 1;
  std::thread thread_;
};

}  // namespace trimserve
