#include "scheduler/scheduler.h"

#include <algorithm>
#include <set>

#include "common/check.h"

namespace trimserve {

Result<std::unique_ptr<Scheduler>> Scheduler::create(const SchedulerOptions& options,
                                                     const std::vector<TenantSchedule>& tenants,
                                                     const Clock& clock) {
  if (options.max_batched_tokens < 1 || options.max_running < 1 || options.quantum_tokens < 1 ||
      options.prefill_chunk < 1) {
    return invalid_argument(
        "scheduler: max_batched_tokens, max_running, quantum and prefill_chunk must be >= 1");
  }
  if (tenants.empty()) return invalid_argument("scheduler: no tenants");
  std::set<std::string> names;
  for (const TenantSchedule& t : tenants) {
    if (!(t.weight > 0.0)) return invalid_argument("tenant '" + t.name + "': weight must be > 0");
    if (t.max_concurrent < 0 || t.max_pages < 0) {
      return invalid_argument("tenant '" + t.name + "': max_concurrent and max_pages must be >= 0");
    }
    if (!names.insert(t.name).second) return invalid_argument("duplicate tenant '" + t.name + "'");
  }
  return std::unique_ptr<Scheduler>(new Scheduler(options, tenants, clock));
}

Scheduler::Scheduler(const SchedulerOptions& options, const std::vector<TenantSchedule>& tenants,
                     const Clock& clock)
    : options_(options), clock_(clock) {
  for (const TenantSchedule& t : tenants) {
    tenants_[t.name].policy = t;
    drr_order_.push_back(t.name);
  }
}

Status Scheduler::submit(const NewRequest& spec) {
  auto t = tenants_.find(spec.tenant);
  if (t == tenants_.end()) return not_found("unknown tenant '" + spec.tenant + "'");
  if (requests_.count(spec.id) != 0) {
    return failed_precondition("request " + std::to_string(spec.id) + " already exists");
  }
  if (spec.prompt_tokens < 1 || spec.cached_tokens < 0 ||
      spec.cached_tokens >= spec.prompt_tokens || spec.max_new_tokens < 1) {
    return invalid_argument("request " + std::to_string(spec.id) +
                            ": need prompt >= 1, cached in [0, prompt), max_new_tokens >= 1");
  }
  Request r;
  r.spec = spec;
  r.processed = spec.cached_tokens;
  r.chunk_origin = spec.cached_tokens;
  r.arrival_order = ++arrivals_;
  r.queued_at_s = clock_.now_s();
  r.priority = t->second.policy.priority;
  requests_.emplace(spec.id, r);
  t->second.queue.push_back(spec.id);
  ++t->second.stats.waiting;
  return Status::ok_status();
}

bool Scheduler::cancel(RequestId id) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return false;
  Tenant& t = tenants_.at(it->second.spec.tenant);
  auto run = std::find(running_.begin(), running_.end(), id);
  const bool was_running = run != running_.end();
  if (was_running) {
    running_.erase(run);
    --t.stats.running;
  } else {
    t.queue.erase(std::find(t.queue.begin(), t.queue.end(), id));
    --t.stats.waiting;
  }
  requests_.erase(it);
  return was_running;
}

RequestId Scheduler::preemption_victim(const std::string& tenant) const {
  RequestId victim = 0;
  bool found = false;
  for (RequestId id : running_) {
    const Request& r = requests_.at(id);
    if (!tenant.empty() && r.spec.tenant != tenant) continue;
    if (found) {
      const Request& v = requests_.at(victim);
      if (r.priority > v.priority || (r.priority == v.priority && r.arrival_order < v.arrival_order)) {
        continue;
      }
    }
    victim = id;
    found = true;
  }
  TS_CHECK(found);
  return victim;
}

int64_t* Scheduler::share_left(const std::string& tenant) {
  auto it = share_left_.find(tenant);
  return it == share_left_.end() ? nullptr : &it->second;
}

void Scheduler::drop_too_large(RequestId id, BatchPlan& plan) {
  cancel(id);
  plan.too_large.push_back(id);
}

bool Scheduler::fit_decode(RequestId id, int64_t need, const KvCapacity& kv, int64_t& pages_left,
                           BatchPlan& plan) {
  const std::string tenant = requests_.at(id).spec.tenant;
  // Preempts `victim` unless it is `id` itself; false when `id` had to go.
  auto make_room = [&](RequestId victim, bool alone) {
    if (victim == id) {
      if (alone) {
        drop_too_large(id, plan);
      } else {
        preempt(id, plan);
      }
      return false;
    }
    const int64_t held = kv.pages_held(victim);
    pages_left += held;
    if (int64_t* left = share_left(requests_.at(victim).spec.tenant)) *left += held;
    preempt(victim, plan);
    return true;
  };
  // The tenant's share first: only its own requests make room there.
  if (int64_t* left = share_left(tenant)) {
    while (need > *left) {
      const auto mine = std::count_if(running_.begin(), running_.end(), [&](RequestId r) {
        return requests_.at(r).spec.tenant == tenant;
      });
      if (!make_room(preemption_victim(tenant), mine == 1)) return false;
    }
  }
  while (need > pages_left) {
    if (!make_room(preemption_victim(), running_.size() == 1)) return false;
  }
  return true;
}

void Scheduler::preempt(RequestId id, BatchPlan& plan) {
  Request& r = requests_.at(id);
  Tenant& t = tenants_.at(r.spec.tenant);
  running_.erase(std::find(running_.begin(), running_.end(), id));
  // Everything generated so far is recomputed with the prompt when it runs again.
  r.recompute_extra = r.generated;
  r.processed = 0;
  r.chunk_origin = 0;
  r.queued_at_s = clock_.now_s();
  t.queue.push_front(id);
  --t.stats.running;
  ++t.stats.waiting;
  ++t.stats.preempted;
  plan.preempted.push_back(id);
}

int64_t Scheduler::prefill_length(const Request& r, int64_t budget) const {
  const int64_t chunk = options_.prefill_chunk;
  const int64_t done = r.processed - r.chunk_origin;
  const int64_t to_boundary = chunk - done % chunk;
  return std::min({r.prompt_target() - r.processed, budget, to_boundary});
}

BatchItem Scheduler::item_for(const Request& r, int64_t n, bool prefill) const {
  BatchItem item;
  item.id = r.spec.id;
  item.start = r.processed;
  item.num_tokens = n;
  item.prefill = prefill;
  const int64_t end = r.processed + n;
  item.samples = !prefill || end == r.prompt_target();
  item.compress = item.samples || (end - r.chunk_origin) % options_.prefill_chunk == 0;
  return item;
}

void Scheduler::set_paused(RequestId id, bool paused) {
  auto it = requests_.find(id);
  if (it != requests_.end()) it->second.paused = paused;
}

BatchPlan Scheduler::schedule(const KvCapacity& kv) {
  BatchPlan plan;
  int64_t budget = options_.max_batched_tokens;
  int64_t pages_left = kv.free_pages();
  share_left_.clear();
  for (const auto& [name, t] : tenants_) {
    if (t.policy.max_pages > 0) share_left_[name] = t.policy.max_pages - kv.tenant_pages(name);
  }
  // Priority first, then arrival: preemption victims (the reverse) come last.
  std::vector<RequestId> order = running_;
  std::sort(order.begin(), order.end(), [&](RequestId a, RequestId b) {
    const Request& x = requests_.at(a);
    const Request& y = requests_.at(b);
    if (x.priority != y.priority) return x.priority > y.priority;
    return x.arrival_order < y.arrival_order;
  });
  auto is_running = [&](RequestId id) {
    return std::find(running_.begin(), running_.end(), id) != running_.end();
  };
  auto add = [&](RequestId id, int64_t n, bool prefill, int64_t pages) {
    add_item(requests_.at(id), n, prefill, pages, budget, pages_left, plan);
  };

  // 1. Decode tokens; preempt when one does not fit.
  for (RequestId id : order) {
    if (budget < 1) break;
    if (!is_running(id)) continue;  // preempted earlier in this loop
    const Request& r = requests_.at(id);
    if (r.paused || r.processed < r.prompt_target()) continue;
    const int64_t need = kv.pages_needed(id, 1);
    if (fit_decode(id, need, kv, pages_left, plan)) add(id, 1, /*prefill=*/false, need);
  }
  // 2. Prompts being prefilled: their next chunk, when it fits.
  for (RequestId id : order) {
    if (budget < 1) break;
    if (!is_running(id)) continue;
    const Request& r = requests_.at(id);
    if (r.paused || r.processed >= r.prompt_target()) continue;
    const int64_t n = prefill_length(r, budget);
    const int64_t need = kv.pages_needed(id, n);
    const int64_t* share = share_left(r.spec.tenant);
    if (need <= pages_left && (share == nullptr || need <= *share)) add(id, n, /*prefill=*/true, need);
  }
  // 3. New requests.
  admit(kv, budget, pages_left, plan);
  return plan;
}

void Scheduler::admit(const KvCapacity& kv, int64_t& budget, int64_t& pages_left,
                      BatchPlan& plan) {
  std::set<std::string> at_share;  // tenants whose next request does not fit their KV share
  auto eligible = [&](const Tenant& t) {
    if (t.queue.empty() || at_share.count(t.policy.name) != 0) return false;
    const int64_t limit = t.policy.max_concurrent;
    return limit == 0 || t.stats.running < limit;
  };
  while (budget > 0 && static_cast<int64_t>(running_.size()) < options_.max_running) {
    // The highest priority class with an eligible tenant.
    bool any = false;
    int best = 0;
    for (const auto& [name, t] : tenants_) {
      if (!eligible(t)) continue;
      if (!any || t.policy.priority > best) best = t.policy.priority;
      any = true;
    }
    if (!any) return;
    // Deficit round robin within the class: a visit adds quantum * weight; the head request
    // is admitted once its tenant's deficit covers its cost.
    const std::string& name = drr_order_[drr_next_ % drr_order_.size()];
    Tenant& t = tenants_.at(name);
    if (!eligible(t) || t.policy.priority != best) {
      if (t.queue.empty()) t.deficit = 0.0;  // an idle tenant saves no credit (DRR)
      ++drr_next_;
      continue;
    }
    const RequestId id = t.queue.front();
    Request& r = requests_.at(id);
    const auto cost = static_cast<double>(r.prompt_target() + r.spec.max_new_tokens);
    if (t.deficit < cost) {
      t.deficit += static_cast<double>(options_.quantum_tokens) * t.policy.weight;
      ++drr_next_;
      continue;
    }
    const int64_t n = prefill_length(r, budget);
    const int64_t need = kv.pages_needed(id, n);
    if (int64_t* share = share_left(name); share != nullptr && need > *share) {
      // The tenant waits for its own requests to free pages; the others go on. A first chunk
      // larger than the whole share would wait forever.
      if (need > t.policy.max_pages) {
        drop_too_large(id, plan);
      } else {
        at_share.insert(name);
      }
      continue;
    }
    if (need > pages_left) return;  // no preemption for new work: wait for memory
    t.deficit -= cost;
    t.queue.pop_front();
    --t.stats.waiting;
    ++t.stats.running;
    running_.push_back(id);
    plan.started.push_back(id);
    add_item(r, n, /*prefill=*/true, need, budget, pages_left, plan);
  }
}

void Scheduler::add_item(const Request& r, int64_t n, bool prefill, int64_t pages,
                         int64_t& budget, int64_t& pages_left, BatchPlan& plan) {
  plan.items.push_back(item_for(r, n, prefill));
  plan.num_tokens += n;
  budget -= n;
  pages_left -= pages;
  if (int64_t* left = share_left(r.spec.tenant)) *left -= pages;
  tenants_.at(r.spec.tenant).stats.tokens_scheduled += n;
}

void Scheduler::on_step_done(const BatchPlan& plan, const std::vector<RequestId>& finished) {
  for (const BatchItem& item : plan.items) {
    auto it = requests_.find(item.id);
    if (it == requests_.end()) continue;  // cancelled since
    Request& r = it->second;
    if (std::find(running_.begin(), running_.end(), item.id) == running_.end()) continue;
    r.processed += item.num_tokens;
    if (item.samples) ++r.generated;
  }
  for (RequestId id : finished) {
    auto it = requests_.find(id);
    if (it == requests_.end()) continue;
    ++tenants_.at(it->second.spec.tenant).stats.finished;
    cancel(id);
  }
  // A request that sampled its last token is done even if the loop did not say so.
  for (size_t i = 0; i < running_.size();) {
    const Request& r = requests_.at(running_[i]);
    if (r.generated >= r.spec.max_new_tokens) {
      ++tenants_.at(r.spec.tenant).stats.finished;
      cancel(running_[i]);
    } else {
      ++i;
    }
  }
}

std::map<std::string, int64_t> Scheduler::kv_shares() const {
  std::map<std::string, int64_t> shares;
  for (const auto& [name, t] : tenants_) {
    if (t.policy.max_pages > 0) shares[name] = t.policy.max_pages;
  }
  return shares;
}

int64_t Scheduler::num_waiting() const {
  int64_t n = 0;
  for (const auto& [name, t] : tenants_) n += static_cast<int64_t>(t.queue.size());
  return n;
}

TenantScheduleStats Scheduler::tenant_stats(const std::string& tenant) const {
  auto t = tenants_.find(tenant);
  return t == tenants_.end() ? TenantScheduleStats{} : t->second.stats;
}

double Scheduler::waiting_s(RequestId id) const {
  auto it = requests_.find(id);
  if (it == requests_.end()) return -1;
  if (std::find(running_.begin(), running_.end(), id) != running_.end()) return -1;
  return clock_.now_s() - it->second.queued_at_s;
}

}  // namespace trimserve
