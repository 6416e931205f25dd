#include "scheduler/engine_loop.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "common/check.h"

namespace trimserve {

namespace {

// The scheduler's view of the pool: pages of the request's sequence, free pages plus what idle
// sessions would give back under pressure.
class PoolCapacity final : public KvCapacity {
 public:
  PoolCapacity(const KvPool& pool, const std::map<RequestId, SeqId>& seqs,
               std::map<std::string, int64_t> tenant_pages)
      : pool_(pool), seqs_(seqs), stats_(pool.stats()), tenant_pages_(std::move(tenant_pages)) {}
  int64_t pages_needed(RequestId id, int64_t tokens) const override {
    return pool_.pages_needed(seqs_.at(id), tokens);
  }
  int64_t free_pages() const override {
    return stats_.pages_total - stats_.pages_used + stats_.pages_idle;
  }
  int64_t pages_held(RequestId id) const override { return pool_.pages_held(seqs_.at(id)); }
  int64_t tenant_pages(const std::string& tenant) const override {
    auto it = tenant_pages_.find(tenant);
    return it == tenant_pages_.end() ? 0 : it->second;
  }

 private:
  const KvPool& pool_;
  const std::map<RequestId, SeqId>& seqs_;
  KvPoolStats stats_;
  std::map<std::string, int64_t> tenant_pages_;
};

}  // namespace

EngineLoop::EngineLoop(Engine& engine, KvPool& pool, SessionManager& sessions,
                       Scheduler& scheduler, const Tokenizer& tokenizer,
                       std::vector<int64_t> eos_token_ids)
    : engine_(engine),
      pool_(pool),
      sessions_(sessions),
      scheduler_(scheduler),
      tokenizer_(tokenizer),
      eos_(std::move(eos_token_ids)),
      kv_shares_(scheduler.kv_shares()) {}

EngineLoop::~EngineLoop() { stop(); }

std::shared_ptr<TokenStream> EngineLoop::submit(GenerationRequest request) {
  auto stream = std::make_shared<TokenStream>(std::max<size_t>(1, request.stream_capacity));
  {
    std::lock_guard lock(mu_);
    inbox_.push_back({std::move(request), stream, std::chrono::steady_clock::now()});
    ++queued_;
    woken_ = true;
  }
  cv_.notify_one();
  return stream;
}

void EngineLoop::post(std::function<void(SessionManager&)> task) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      tasks_.push_back(std::move(task));
      woken_ = true;
      cv_.notify_one();
      return;
    }
  }
  task(sessions_);  // the loop is gone: nothing else touches the sessions now
}

void EngineLoop::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_one();
}

void EngineLoop::take_inbox() {
  std::vector<Submitted> inbox;
  std::vector<std::function<void(SessionManager&)>> tasks;
  RequestId first = 0;
  {
    std::lock_guard lock(mu_);
    inbox.swap(inbox_);
    tasks.swap(tasks_);
    first = next_id_;
    next_id_ += inbox.size();
  }
  for (auto& task : tasks) task(sessions_);
  for (Submitted& s : inbox) admit(first++, std::move(s));
}

void EngineLoop::admit(RequestId id, Submitted submitted) {
  GenerationRequest& request = submitted.request;
  std::shared_ptr<TokenStream>& stream = submitted.stream;
  auto reject = [&](const Status& s) {
    StreamEvent e;
    e.kind = StreamEvent::Kind::kError;
    e.error = s;
    stream->push(std::move(e));
  };
  if (request.prompt.empty()) return reject(invalid_argument("the prompt is empty"));
  if (Status s = validate(request.sampling, engine_.model_config().vocab_size); !s.ok()) {
    return reject(s);
  }
  Active a;
  SeqId seq = id;
  if (request.session_id) {
    auto begin = sessions_.begin_turn({request.tenant, *request.session_id}, request.prompt, id,
                                      request.kv);
    if (!begin.ok()) return reject(begin.status());
    seq = begin->seq;
    a.cached_tokens = begin->cached_tokens;
  } else if (Status s = pool_.add_sequence(id, request.kv); !s.ok()) {
    return reject(s);
  }
  NewRequest nr;
  nr.id = id;
  nr.tenant = request.tenant;
  nr.prompt_tokens = static_cast<int64_t>(request.prompt.size());
  nr.cached_tokens = a.cached_tokens;
  nr.max_new_tokens = request.sampling.max_tokens;
  if (Status s = scheduler_.submit(nr); !s.ok()) {
    if (request.session_id) {
      (void)sessions_.abort_turn({request.tenant, *request.session_id});
    } else {
      pool_.release(seq);
    }
    return reject(s);
  }
  stream->set_notify([this] { wake(); });
  a.tokens = request.prompt;
  a.output = std::make_unique<OutputProcessor>(request.sampling, tokenizer_, eos_);
  a.spec = std::move(request);
  a.stream = std::move(stream);
  a.submitted = submitted.at;
  seqs_[id] = seq;
  active_.emplace(id, std::move(a));
}

void EngineLoop::retire(RequestId id, bool success) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  Active& a = it->second;
  const SeqId seq = seqs_.at(id);
  if (a.spec.session_id) {
    const SessionKey key{a.spec.tenant, *a.spec.session_id};
    bool parked = false;
    if (success) {
      const int64_t processed = pool_.sequence_stats(seq).num_processed;
      std::vector<int32_t> history(a.tokens.begin(), a.tokens.begin() + processed);
      parked = sessions_.end_turn(key, std::move(history)).ok();
    }
    if (!parked) (void)sessions_.abort_turn(key);
  } else {
    pool_.release(seq);
  }
  seqs_.erase(id);
  active_.erase(it);
}

void EngineLoop::fail(RequestId id, const Status& error, bool count_error) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  if (!it->second.stream->done()) {
    StreamEvent e;
    e.kind = StreamEvent::Kind::kError;
    e.error = error;
    it->second.stream->push(std::move(e));
  }
  if (count_error) ++stats_.errors;
  scheduler_.cancel(id);
  retire(id, false);
}

void EngineLoop::drop_cancelled() {
  std::vector<RequestId> gone, late;
  const auto now = GenerationRequest::Clock::now();
  for (const auto& [id, a] : active_) {
    if (a.stream->cancelled()) {
      gone.push_back(id);
    } else if (a.spec.deadline && *a.spec.deadline <= now) {
      late.push_back(id);
    }
  }
  for (RequestId id : gone) {
    scheduler_.cancel(id);
    retire(id, false);
  }
  for (RequestId id : late) {
    const int64_t generated = static_cast<int64_t>(active_.at(id).output->output().size());
    fail(id,
         deadline_exceeded("the request ran past its deadline after " +
                           std::to_string(generated) + " generated tokens"),
         /*count_error=*/false);
    ++stats_.deadlines_exceeded;
  }
}

std::optional<GenerationRequest::Clock::time_point> EngineLoop::next_deadline() const {
  std::optional<GenerationRequest::Clock::time_point> soonest;
  for (const auto& [id, a] : active_) {
    if (a.spec.deadline && (!soonest || *a.spec.deadline < *soonest)) soonest = a.spec.deadline;
  }
  return soonest;
}

std::map<std::string, int64_t> EngineLoop::request_pages_by_tenant() const {
  std::map<std::string, int64_t> pages;
  if (kv_shares_.empty()) return pages;
  for (const auto& [id, a] : active_) {
    if (kv_shares_.count(a.spec.tenant) != 0) pages[a.spec.tenant] += pool_.pages_held(seqs_.at(id));
  }
  return pages;
}

void EngineLoop::enforce_kv_shares(const BatchPlan& plan) {
  if (kv_shares_.empty()) return;
  // The tenant's requests now (after this plan's preemptions), plus the plan's new pages.
  std::map<std::string, int64_t> used = request_pages_by_tenant();
  for (const BatchItem& item : plan.items) {
    const std::string& tenant = active_.at(item.id).spec.tenant;
    if (kv_shares_.count(tenant) != 0) {
      used[tenant] += pool_.pages_needed(seqs_.at(item.id), item.num_tokens);
    }
  }
  for (const auto& [tenant, max_pages] : kv_shares_) {
    sessions_.limit_tenant_idle(tenant, std::max<int64_t>(0, max_pages - used[tenant]));
  }
}

void EngineLoop::apply_backpressure() {
  for (auto& [id, a] : active_) {
    const bool room = a.stream->has_room();
    if (room == !a.paused) continue;
    a.paused = !room;
    scheduler_.set_paused(id, a.paused);
  }
}

bool EngineLoop::run_plan(const BatchPlan& plan) {
  for (RequestId id : plan.preempted) {
    // Recompute later: the sequence keeps its registration (and a session its key) but
    // loses every entry.
    auto truncated = pool_.truncate(seqs_.at(id), 0);
    TS_CHECK(truncated.ok());
    engine_.apply(*truncated);
    ++stats_.preemptions;
  }
  for (RequestId id : plan.too_large) {
    const std::string& tenant = active_.at(id).spec.tenant;
    fail(id, resource_exhausted("the request needs more KV memory than tenant '" + tenant +
                                "' can hold (the pool, or the tenant's kv_share); retry with a "
                                "smaller kv_budget, prompt or max_tokens"),
         /*count_error=*/false);
    ++stats_.too_large;
  }
  enforce_kv_shares(plan);
  if (plan.empty()) return !plan.preempted.empty() || !plan.too_large.empty();

  // Room for the whole step before any reserve (reclaim may compact these sequences too).
  const Status room = sessions_.make_room_for([&] {
    int64_t pages = 0;
    for (const BatchItem& item : plan.items) pages += pool_.pages_needed(seqs_.at(item.id), item.num_tokens);
    return pages;
  });
  if (!room.ok()) {
    // The scheduler counted idle pages that could not be reclaimed after all: fail the step's
    // requests rather than corrupt any sequence.
    for (const BatchItem& item : plan.items) fail(item.id, room);
    scheduler_.on_step_done(BatchPlan{}, {});
    return true;
  }
  StepInput input;
  const ModelConfig& mc = engine_.model_config();
  for (const BatchItem& item : plan.items) {
    const SeqId seq = seqs_.at(item.id);
    TS_CHECK(pool_.reserve(seq, item.num_tokens).ok());
    const Active& a = active_.at(item.id);
    SequenceStepInput s;
    s.seq = seq;
    s.tokens.assign(a.tokens.begin() + item.start, a.tokens.begin() + item.start + item.num_tokens);
    s.start_pos = item.start;
    s.logits = item.samples ? LogitsMode::kLast : LogitsMode::kNone;
    for (int64_t l = 0; l < mc.num_hidden_layers; ++l) {
      for (int64_t h = 0; h < mc.num_key_value_heads; ++h) s.lanes.push_back(pool_.lane(seq, l, h));
    }
    input.seqs.push_back(std::move(s));
  }
  const auto step_start = std::chrono::steady_clock::now();
  auto out = engine_.step(input);
  const auto step_end = std::chrono::steady_clock::now();
  ++stats_.steps;
  if (step_observer_) {
    StepRecord r;
    r.sequences = static_cast<int64_t>(plan.items.size());
    r.tokens = plan.num_tokens;
    r.seconds = std::chrono::duration<double>(step_end - step_start).count();
    for (RequestId id : plan.started) {
      auto it = active_.find(id);
      if (it != active_.end() && !it->second.scheduled) {
        it->second.scheduled = true;
        r.queue_s.push_back(std::chrono::duration<double>(step_start - it->second.submitted).count());
      }
    }
    step_observer_(r);
  }
  stats_.max_batch_sequences =
      std::max(stats_.max_batch_sequences, static_cast<int64_t>(plan.items.size()));
  stats_.last_step_failed = !out.ok();
  if (!out.ok()) {
    // Mark the failure before any request hears of it, so that whoever receives the error
    // event already sees healthy() == false.
    {
      std::lock_guard lock(mu_);
      last_step_failure_ = step_end;
    }
    for (const BatchItem& item : plan.items) fail(item.id, out.status());
    scheduler_.on_step_done(BatchPlan{}, {});
    if (on_step_error_) on_step_error_(out.status());
    return true;
  }

  std::vector<RequestId> finished;
  for (size_t k = 0; k < plan.items.size(); ++k) {
    const BatchItem& item = plan.items[k];
    const SeqId seq = seqs_.at(item.id);
    std::vector<int32_t> positions(static_cast<size_t>(item.num_tokens));
    for (int64_t t = 0; t < item.num_tokens; ++t) {
      positions[static_cast<size_t>(t)] = static_cast<int32_t>(item.start + t);
    }
    pool_.append(seq, positions, out->seqs[k].log_beta);
    if (item.compress) {
      pool_.compress(seq, plan_);
      engine_.apply(plan_);
    }
    (item.prefill ? stats_.tokens_prefilled : stats_.tokens_decoded) += item.num_tokens;
    if (!item.samples) continue;
    Active& a = active_.at(item.id);
    const OutputProcessor::Step step = a.output->next(out->seqs[k].logits, a.spec.prompt);
    a.tokens.push_back(step.token);
    StreamEvent e;
    e.token = step.token;
    e.text = step.text;
    e.logprobs = step.logprobs;
    a.stream->push(std::move(e));
    if (step.finish == FinishReason::kNone) continue;
    StreamEvent done;
    done.kind = StreamEvent::Kind::kFinished;
    done.finish = step.finish;
    done.stop_index = step.stop_index;
    done.usage.prompt_tokens = static_cast<int64_t>(a.spec.prompt.size());
    done.usage.completion_tokens = static_cast<int64_t>(a.output->output().size());
    done.usage.cached_tokens = a.cached_tokens;
    a.stream->push(std::move(done));
    finished.push_back(item.id);
  }
  scheduler_.on_step_done(plan, finished);
  for (RequestId id : finished) retire(id, true);
  return true;
}

bool EngineLoop::step_once() {
  bool had_tasks = false;
  {
    std::lock_guard lock(mu_);
    had_tasks = !tasks_.empty();
  }
  take_inbox();
  drop_cancelled();
  apply_backpressure();
  const BatchPlan plan = scheduler_.schedule(PoolCapacity(pool_, seqs_, request_pages_by_tenant()));
  const bool worked = run_plan(plan) || had_tasks;
  sessions_.housekeeping();
  stats_.running = scheduler_.num_running();
  stats_.waiting = scheduler_.num_waiting();
  stats_.sessions = sessions_.stats();
  ++stats_.iterations;
  std::lock_guard lock(mu_);
  stats_.in_flight = static_cast<int64_t>(active_.size() + inbox_.size());
  queued_ = static_cast<int64_t>(inbox_.size()) + stats_.waiting;
  published_stats_ = stats_;
  return worked;
}

void EngineLoop::start() {
  TS_CHECK(!thread_.joinable());
  {
    std::lock_guard lock(mu_);
    thread_running_ = true;
  }
  thread_ = std::thread([this] {
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) break;
        woken_ = false;
      }
      if (step_once()) continue;
      // Idle: sleep until a submit, a drained stream or a cancel; wake now and then for
      // housekeeping (TTL expiry), and at the next deadline of a paused or queued request.
      auto wake_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
      if (auto d = next_deadline()) wake_at = std::min(wake_at, *d);
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, wake_at, [&] { return woken_ || stopping_; });
    }
  });
}

void EngineLoop::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(mu_);
    thread_running_ = false;
  }
  const Status shutting_down(ErrorCode::kUnavailable, "the server is shutting down");
  std::vector<RequestId> ids;
  for (const auto& [id, a] : active_) ids.push_back(id);
  for (RequestId id : ids) fail(id, shutting_down);
  std::vector<std::function<void(SessionManager&)>> tasks;
  {
    std::lock_guard lock(mu_);
    tasks.swap(tasks_);
  }
  for (auto& task : tasks) task(sessions_);
  std::lock_guard lock(mu_);
  for (Submitted& s : inbox_) {
    StreamEvent e;
    e.kind = StreamEvent::Kind::kError;
    e.error = shutting_down;
    s.stream->push(std::move(e));
  }
  inbox_.clear();
}

int64_t EngineLoop::queued() const {
  std::lock_guard lock(mu_);
  return queued_;
}

bool EngineLoop::healthy() const {
  std::lock_guard lock(mu_);
  if (!thread_running_ || stopping_) return false;
  if (step_error_unready_.count() == 0) return !published_stats_.last_step_failed;
  return !last_step_failure_ ||
         std::chrono::steady_clock::now() - *last_step_failure_ >= step_error_unready_;
}

EngineLoopStats EngineLoop::stats() const {
  std::lock_guard lock(mu_);
  return published_stats_;
}

}  // namespace trimserve
