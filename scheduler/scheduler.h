// Scheduler: the pure state machine of iteration-level continuous batching (DESIGN.md §5).
//
// Every engine step the engine loop asks schedule() for a BatchPlan, runs it, and reports back
// with on_step_done(). A plan mixes one decode token for every running request that is past
// its prompt with prefill chunks, under max_batched_tokens; new requests join at the next
// step and finished ones leave at once. The scheduler never touches the engine, the pool, a
// thread or a clock of its own: KV memory is seen through KvCapacity, time through the
// injected Clock, so it is tested with fakes of both.
//
// Order of one schedule():
//   1. decode tokens of running requests (priority, then arrival order); a request whose next
//      token does not fit preempts running work: the lowest-priority, latest-arrived request
//      (possibly itself) goes back to the head of its tenant's queue and recomputes its prompt
//      and everything it generated so far when it runs again;
//   2. the next chunk of requests still prefilling;
//   (prompt chunks never cross a multiple of prefill_chunk counted from where the request's
//   prefill began, and the KV cache is compressed only at those boundaries, at the end of the
//   prompt and after decode steps — the points SequenceRunner compresses at. So how the token
//   budget splits a prompt never changes which entries TrimKV keeps: a request gets the same
//   tokens batched as alone.)
//   3. new requests, tenants in priority classes (higher first), deficit round robin on
//      tokens within a class (each visit adds quantum * weight; a request costs its prompt
//      plus max_new_tokens), each tenant under its max_concurrent. Admission needs the pages
//      of the first chunk only, not the whole prompt; when they do not fit, admission stops
//      (no preemption for new work) until memory frees.
// A tenant's KV share (max_pages) bounds the pages its requests hold, as the pool bounds
// everyone's: each item must fit both; a decode token over the share preempts that tenant's
// own lowest-priority, latest request (never another tenant's), and a tenant at its share
// admits nothing new while the others still may. The tenant's idle sessions do not count
// here: the engine loop drops them (LRU) to keep requests plus sessions under the share.
// A request that must preempt itself while it is the only one running (in the pool, or in
// its tenant for the share) can never fit: it leaves in BatchPlan::too_large instead of
// being preempted forever.
//
// Threading: one owner (the engine-loop thread). No I/O.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "kvpool/clock.h"

namespace trimserve {

using RequestId = uint64_t;

struct TenantSchedule {
  std::string name;
  double weight = 1.0;         // > 0: share of tokens relative to other tenants
  int priority = 0;            // higher is admitted first, and preempted last
  int64_t max_concurrent = 0;  // running requests at once; 0 = unlimited
  int64_t max_pages = 0;       // KV pages its requests may hold (kv_share); 0 = no cap
};

struct SchedulerOptions {
  int64_t max_batched_tokens = 2048;  // tokens per step, decode + prefill
  int64_t max_running = 64;           // requests in the running batch
  int64_t quantum_tokens = 512;       // DRR quantum per unit of weight
  int64_t prefill_chunk = 512;        // compression boundary of prompts (see above)
};

struct NewRequest {
  RequestId id = 0;
  std::string tenant;
  int64_t prompt_tokens = 0;   // >= 1
  int64_t cached_tokens = 0;   // prompt prefix already cached (a resumed session); < prompt
  int64_t max_new_tokens = 1;  // >= 1
};

// KV memory as the scheduler sees it; the engine loop implements it over KvPool + sessions.
class KvCapacity {
 public:
  virtual ~KvCapacity() = default;
  // Pages that `tokens` more entries of request `id` need now (for a request that has not
  // started: its first `tokens` entries).
  virtual int64_t pages_needed(RequestId id, int64_t tokens) const = 0;
  // Pages a step may use: free ones plus what idle sessions would give back.
  virtual int64_t free_pages() const = 0;
  // Pages a running request's sequence holds (what preempting it gives back).
  virtual int64_t pages_held(RequestId id) const = 0;
  // Pages held by `tenant`'s requests, running or waiting (a waiting session turn holds its
  // cached prefix); its idle sessions are not included. Only asked for tenants with max_pages.
  virtual int64_t tenant_pages(const std::string& tenant) const = 0;
};

struct BatchItem {
  RequestId id = 0;
  int64_t start = 0;       // position of the first token in the request's sequence
  int64_t num_tokens = 0;  // prefill chunk length, or 1 for decode
  bool prefill = false;
  bool samples = false;  // the step ends the prompt or decodes: a token is sampled after it
  bool compress = true;  // run the sequence's eviction policy after this step
};

struct BatchPlan {
  std::vector<BatchItem> items;        // in execution order
  std::vector<RequestId> started;      // admitted by this plan (the loop creates sequences)
  std::vector<RequestId> preempted;    // release their sequences now; they run again later
  std::vector<RequestId> too_large;    // removed: they can never fit (see above); fail them
  int64_t num_tokens = 0;
  bool empty() const { return items.empty(); }
};

struct TenantScheduleStats {
  int64_t waiting = 0;
  int64_t running = 0;
  int64_t tokens_scheduled = 0;  // prefill + decode tokens in plans so far
  int64_t finished = 0;
  int64_t preempted = 0;
};

class Scheduler {
 public:
  // Errors: no tenants, a non-positive weight, duplicate tenant names, non-positive sizes.
  static Result<std::unique_ptr<Scheduler>> create(const SchedulerOptions& options,
                                                   const std::vector<TenantSchedule>& tenants,
                                                   const Clock& clock);

  // Queues a request. Errors: unknown tenant (kNotFound), duplicate id
  // (kFailedPrecondition), prompt < 1, cached outside [0, prompt), max_new_tokens < 1
  // (kInvalidArgument).
  Status submit(const NewRequest& request);

  // Removes a request wherever it is. Returns true when it was running (the loop then releases
  // its sequence); false when it was waiting or unknown.
  bool cancel(RequestId id);

  // Backpressure: a paused running request gets no tokens (it keeps its pages) until resumed;
  // the others are scheduled as usual. Unknown or waiting ids are ignored.
  void set_paused(RequestId id, bool paused);

  BatchPlan schedule(const KvCapacity& kv);

  // The plan ran: every item's tokens are in the request's sequence. `finished` (EOS, stop,
  // length, error) leave now.
  void on_step_done(const BatchPlan& plan, const std::vector<RequestId>& finished);

  // Tenants with a KV share: name -> max_pages.
  std::map<std::string, int64_t> kv_shares() const;

  int64_t num_waiting() const;
  int64_t num_running() const { return static_cast<int64_t>(running_.size()); }
  TenantScheduleStats tenant_stats(const std::string& tenant) const;
  // Seconds the request has waited since submit (or since its preemption); -1 if not waiting.
  double waiting_s(RequestId id) const;

 private:
  struct Request {
    NewRequest spec;
    int64_t processed = 0;      // tokens in its sequence (cached prefix included)
    int64_t generated = 0;      // tokens sampled so far
    int64_t arrival_order = 0;  // submit order: later arrivals are preempted first
    double queued_at_s = 0.0;
    int priority = 0;
    // The prompt the sequence must hold before decoding: the original prompt, plus what was
    // generated before a preemption (recomputed on resume).
    int64_t prompt_target() const { return spec.prompt_tokens + recompute_extra; }
    int64_t recompute_extra = 0;
    bool paused = false;
    int64_t chunk_origin = 0;  // where this run's prefill began (compression boundaries)
  };
  struct Tenant {
    TenantSchedule policy;
    std::deque<RequestId> queue;
    double deficit = 0.0;
    TenantScheduleStats stats;
  };

  Scheduler(const SchedulerOptions& options, const std::vector<TenantSchedule>& tenants,
            const Clock& clock);
  // Moves `id` from running back to the head of its tenant's queue (recompute later).
  void preempt(RequestId id, BatchPlan& plan);
  // The running request that preemption takes first: lowest priority, latest arrival; among
  // `tenant`'s requests only when it is not empty.
  RequestId preemption_victim(const std::string& tenant = "") const;
  // Makes `need` pages fit for running request `id` by preempting others; false when `id`
  // itself had to go (preempted, or too_large when nothing else could make room).
  bool fit_decode(RequestId id, int64_t need, const KvCapacity& kv, int64_t& pages_left,
                  BatchPlan& plan);
  // Pages `tenant` may still take in this plan under its share; null without one.
  int64_t* share_left(const std::string& tenant);
  // Removes a request that can never fit and lists it in plan.too_large.
  void drop_too_large(RequestId id, BatchPlan& plan);
  void admit(const KvCapacity& kv, int64_t& budget, int64_t& pages_left, BatchPlan& plan);
  // The next prefill chunk of `r` within `budget`: never past the prompt or the next boundary.
  int64_t prefill_length(const Request& r, int64_t budget) const;
  BatchItem item_for(const Request& r, int64_t n, bool prefill) const;
  // Appends n tokens of `r` to the plan and charges them to the step's token budget, the
  // pool's pages and the tenant's share.
  void add_item(const Request& r, int64_t n, bool prefill, int64_t pages, int64_t& budget,
                int64_t& pages_left, BatchPlan& plan);

  SchedulerOptions options_;
  const Clock& clock_;
  std::map<std::string, Tenant> tenants_;
  std::map<RequestId, Request> requests_;  // waiting and running
  std::vector<RequestId> running_;         // admission order
  std::vector<std::string> drr_order_;     // tenants in round-robin order
  std::map<std::string, int64_t> share_left_;  // per schedule(): pages left under shares
  size_t drr_next_ = 0;
  int64_t arrivals_ = 0;
};

}  // namespace trimserve
