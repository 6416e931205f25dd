// Scheduler state machine with a fake KV pool and a fake engine loop (DESIGN.md §5): steps mix
// decode and prefill under max_batched_tokens, prompts are chunked, admission needs only the
// first chunk's pages, preemption takes the latest low-priority request and it recomputes,
// per-tenant concurrency and priority hold, KV shares bound a tenant's pages, requests that can
// never fit are refused instead of preempted forever, and a flooding tenant gets only its
// weighted share.
#include "scheduler/scheduler.h"

#include <catch2/catch.hpp>
#include <map>
#include <numeric>
#include <set>
#include <vector>

#include "tests/support/fake_clock.h"

using namespace trimserve;
using testing::FakeClock;

namespace {

// One lane, pages of `b` entries: what a request holds is its processed tokens.
class FakeKv final : public KvCapacity {
 public:
  FakeKv(int64_t pages, int64_t b) : pages_(pages), b_(b) {}
  int64_t pages_needed(RequestId id, int64_t tokens) const override {
    const int64_t held = tokens_of(id);
    return ceil_div(held + tokens) - ceil_div(held);
  }
  int64_t free_pages() const override {
    int64_t used = 0;
    for (const auto& [id, t] : held_) used += ceil_div(t);
    return pages_ - used;
  }
  int64_t pages_held(RequestId id) const override { return ceil_div(tokens_of(id)); }
  int64_t tenant_pages(const std::string& tenant) const override {
    int64_t pages = 0;
    for (const auto& [id, t] : held_) {
      if (tenant_of_.at(id) == tenant) pages += ceil_div(t);
    }
    return pages;
  }
  void set_tenant(RequestId id, const std::string& tenant) { tenant_of_[id] = tenant; }
  void add(RequestId id, int64_t n) { held_[id] += n; }
  void release(RequestId id) { held_.erase(id); }
  int64_t tokens_of(RequestId id) const {
    auto it = held_.find(id);
    return it == held_.end() ? 0 : it->second;
  }

 private:
  int64_t ceil_div(int64_t a) const { return (a + b_ - 1) / b_; }
  int64_t pages_;
  int64_t b_;
  std::map<RequestId, int64_t> held_;
  std::map<RequestId, std::string> tenant_of_;
};

// The engine loop's part: run the plan on the fake pool, count sampled tokens, report the
// requests that reached max_new_tokens.
struct Loop {
  Loop(Scheduler& scheduler, FakeKv& pool) : s(scheduler), kv(pool) {}
  Scheduler& s;
  FakeKv& kv;
  std::map<RequestId, int64_t> max_new;
  std::map<RequestId, int64_t> generated;
  std::vector<RequestId> done;
  std::vector<RequestId> refused;  // too_large
  int64_t steps = 0;

  BatchPlan step() {
    BatchPlan plan = s.schedule(kv);
    for (RequestId id : plan.preempted) {
      kv.release(id);
      // Recompute: what was generated will be fed again, and sampling continues from there.
    }
    for (RequestId id : plan.too_large) {
      kv.release(id);
      refused.push_back(id);
    }
    std::vector<RequestId> finished;
    for (const BatchItem& item : plan.items) {
      REQUIRE(item.start == kv.tokens_of(item.id));  // the plan continues the sequence
      kv.add(item.id, item.num_tokens);
      if (item.samples && ++generated[item.id] == max_new.at(item.id)) finished.push_back(item.id);
    }
    s.on_step_done(plan, finished);
    for (RequestId id : finished) {
      kv.release(id);
      done.push_back(id);
    }
    ++steps;
    return plan;
  }

  void submit(RequestId id, const std::string& tenant, int64_t prompt, int64_t max_new_tokens,
              int64_t cached = 0) {
    NewRequest r;
    r.id = id;
    r.tenant = tenant;
    r.prompt_tokens = prompt;
    r.max_new_tokens = max_new_tokens;
    r.cached_tokens = cached;
    REQUIRE(s.submit(r).ok());
    kv.set_tenant(id, tenant);
    max_new[id] = max_new_tokens;
    if (cached > 0) kv.add(id, cached);
  }
};

std::unique_ptr<Scheduler> make(const SchedulerOptions& o, std::vector<TenantSchedule> tenants,
                                const Clock& clock) {
  auto s = Scheduler::create(o, tenants, clock);
  REQUIRE(s.ok());
  return std::move(*s);
}

TenantSchedule tenant(const std::string& name, double weight = 1.0, int priority = 0,
                      int64_t max_concurrent = 0, int64_t max_pages = 0) {
  return TenantSchedule{name, weight, priority, max_concurrent, max_pages};
}

}  // namespace

TEST_CASE("steps mix decode tokens and prefill chunks under the token budget", "[scheduler]") {
  FakeClock clock;
  SchedulerOptions o;
  o.max_batched_tokens = 64;
  auto s = make(o, {tenant("a")}, clock);
  FakeKv kv(1000, 4);
  Loop loop{*s, kv};
  loop.submit(1, "a", 10, 5);
  loop.submit(2, "a", 20, 3);
  BatchPlan p1 = loop.step();
  CHECK(p1.started == std::vector<RequestId>{1, 2});
  CHECK(p1.num_tokens == 30);
  CHECK(p1.items[0].samples);
  // A newcomer's prompt is prefilled in the same step as the others' decode tokens.
  loop.submit(3, "a", 100, 2);
  BatchPlan p2 = loop.step();
  REQUIRE(p2.items.size() == 3);
  CHECK((!p2.items[0].prefill && !p2.items[1].prefill));
  CHECK(p2.items[2].prefill);
  CHECK(p2.items[2].num_tokens == 62);  // what the budget leaves after two decode tokens
  CHECK(!p2.items[2].samples);
  int guard = 0;
  while (loop.done.size() < 3 && ++guard < 100) {
    const BatchPlan p = loop.step();
    CHECK(p.num_tokens <= 64);
  }
  CHECK(loop.done.size() == 3);
  CHECK(loop.generated[1] == 5);
  CHECK(loop.generated[2] == 3);
  CHECK(loop.generated[3] == 2);
  CHECK(s->num_running() == 0);
  CHECK(s->tenant_stats("a").finished == 3);
  // Request 2 left the batch as soon as it finished: its last step had it, the next not.
}

TEST_CASE("long prompts are chunked; a cached prefix is skipped", "[scheduler]") {
  FakeClock clock;
  SchedulerOptions o;
  o.max_batched_tokens = 2048;
  o.prefill_chunk = 2048;
  auto s = make(o, {tenant("a")}, clock);
  FakeKv kv(100000, 16);
  Loop loop{*s, kv};
  loop.submit(1, "a", 5000, 1);
  std::vector<int64_t> chunks;
  while (loop.done.empty()) {
    const BatchPlan p = loop.step();
    REQUIRE(p.items.size() == 1);
    chunks.push_back(p.items[0].num_tokens);
    CHECK(p.items[0].samples == (chunks.size() == 3));
  }
  CHECK(chunks == std::vector<int64_t>{2048, 2048, 904});
  // A budget that splits chunks differently keeps the compression points: chunks stop at
  // multiples of prefill_chunk from where the prefill began, and only those compress.
  SchedulerOptions small = o;
  small.max_batched_tokens = 700;
  small.prefill_chunk = 1000;
  auto s2 = make(small, {tenant("a")}, clock);
  FakeKv kv2(100000, 16);
  Loop loop2{*s2, kv2};
  loop2.submit(1, "a", 2600, 1, /*cached=*/100);
  std::vector<std::pair<int64_t, bool>> pieces;
  while (loop2.done.empty()) {
    const BatchPlan p = loop2.step();
    for (const BatchItem& item : p.items) pieces.emplace_back(item.num_tokens, item.compress);
  }
  CHECK(pieces == std::vector<std::pair<int64_t, bool>>{
                     {700, false}, {300, true}, {700, false}, {300, true}, {500, true}});
  loop.submit(2, "a", 300, 1, /*cached=*/250);
  const BatchPlan p = loop.step();
  REQUIRE(p.items.size() == 1);
  CHECK(p.items[0].start == 250);
  CHECK(p.items[0].num_tokens == 50);
}

TEST_CASE("admission needs the first chunk's pages only, and waits for memory", "[scheduler]") {
  FakeClock clock;
  SchedulerOptions o;
  o.max_batched_tokens = 32;
  auto s = make(o, {tenant("a")}, clock);
  FakeKv kv(20, 4);  // 80 entries
  Loop loop{*s, kv};
  loop.submit(1, "a", 60, 4);
  loop.submit(2, "a", 40, 4);
  CHECK(loop.step().started == std::vector<RequestId>{1});  // the budget went to 1's chunk
  // 2 starts with the 4 tokens the budget leaves, although its whole prompt (10 pages) is
  // more than the 4 pages free.
  const BatchPlan p2 = loop.step();
  CHECK(p2.started == std::vector<RequestId>{2});
  CHECK(p2.items.back().num_tokens == 4);
  CHECK(kv.free_pages() == 4);
  // A third request's first chunk does not fit: it waits (no preemption for new work).
  loop.submit(3, "a", 40, 4);
  CHECK(loop.step().started.empty());
  CHECK(s->num_waiting() == 1);
  int guard = 0;
  while (loop.done.size() < 3 && ++guard < 200) loop.step();
  CHECK(loop.done.size() == 3);
  CHECK(loop.done.front() == 1);
  for (RequestId id : {1, 2, 3}) CHECK(loop.generated[id] == 4);
}

TEST_CASE("preemption takes the latest arrival and it recomputes", "[scheduler]") {
  FakeClock clock;
  SchedulerOptions o;
  o.max_batched_tokens = 256;
  auto s = make(o, {tenant("a")}, clock);
  FakeKv kv(12, 4);  // 48 entries for three requests that each grow to 20
  Loop loop{*s, kv};
  loop.submit(1, "a", 12, 8);
  loop.submit(2, "a", 12, 8);
  loop.submit(3, "a", 12, 8);
  std::vector<RequestId> preempted;
  int guard = 0;
  while (loop.done.size() < 3 && ++guard < 500) {
    const BatchPlan p = loop.step();
    preempted.insert(preempted.end(), p.preempted.begin(), p.preempted.end());
    CHECK(kv.free_pages() >= 0);
  }
  REQUIRE(loop.done.size() == 3);
  REQUIRE(!preempted.empty());
  CHECK(preempted.front() == 3);  // latest arrival first
  CHECK(s->tenant_stats("a").preempted == static_cast<int64_t>(preempted.size()));
  // Recompute keeps the count: each request sampled exactly its max_new_tokens... plus the
  // tokens re-sampled after a resume are continuations, never repeats.
  for (RequestId id : {1, 2, 3}) CHECK(loop.generated[id] == 8);
}

TEST_CASE("tenants: concurrency caps, priority classes", "[scheduler]") {
  FakeClock clock;
  SchedulerOptions o;
  o.max_batched_tokens = 1000;
  auto s = make(o, {tenant("capped", 1.0, 0, 2), tenant("vip", 1.0, 5)}, clock);
  FakeKv kv(10000, 4);
  Loop loop{*s, kv};
  for (RequestId id = 1; id <= 5; ++id) loop.submit(id, "capped", 10, 3);
  BatchPlan p = loop.step();
  CHECK(p.started.size() == 2);
  CHECK(s->tenant_stats("capped").running == 2);
  CHECK(s->tenant_stats("capped").waiting == 3);
  // A higher-priority tenant's request is admitted before the capped tenant's backlog.
  SchedulerOptions one;
  one.max_running = 1;
  auto s2 = make(one, {tenant("low"), tenant("high", 1.0, 1)}, clock);
  FakeKv kv2(10000, 4);
  Loop loop2{*s2, kv2};
  loop2.submit(1, "low", 10, 2);
  loop2.submit(2, "high", 10, 2);
  CHECK(loop2.step().started == std::vector<RequestId>{2});
}

TEST_CASE("a tenant's KV share bounds its pages; the other tenants keep the rest",
          "[scheduler][kv_share]") {
  FakeClock clock;
  SchedulerOptions o;
  o.max_batched_tokens = 256;
  auto s = make(o, {tenant("small", 1.0, 0, 0, /*max_pages=*/10), tenant("big")}, clock);
  FakeKv kv(40, 4);
  Loop loop{*s, kv};
  // Each request grows to 20 tokens = 5 pages: small's five would take 25 pages at once.
  for (RequestId id = 1; id <= 5; ++id) loop.submit(id, "small", 12, 8);
  for (RequestId id = 6; id <= 8; ++id) loop.submit(id, "big", 12, 8);
  std::set<RequestId> preempted;
  int guard = 0;
  while (loop.done.size() < 8 && ++guard < 500) {
    const BatchPlan p = loop.step();
    preempted.insert(p.preempted.begin(), p.preempted.end());
    CHECK(kv.tenant_pages("small") <= 10);
    CHECK(kv.free_pages() >= 0);
  }
  CHECK(loop.done.size() == 8);
  CHECK(loop.refused.empty());
  for (RequestId id = 1; id <= 8; ++id) CHECK(loop.generated[id] == 8);
  // Only small's own requests made room under its share; big's three (15 pages) always fit.
  for (RequestId id : preempted) CHECK(id <= 5);
  CHECK(s->tenant_stats("big").preempted == 0);
}

TEST_CASE("a request that can never fit is refused instead of preempted forever",
          "[scheduler][kv_share]") {
  FakeClock clock;
  SchedulerOptions o;
  o.max_batched_tokens = 256;
  {
    // Grows to 28 tokens = 7 pages under a share of 3: refused when its next token does not
    // fit and nothing else of the tenant is there to preempt.
    auto s = make(o, {tenant("small", 1.0, 0, 0, /*max_pages=*/3), tenant("other")}, clock);
    FakeKv kv(100, 4);
    Loop loop{*s, kv};
    loop.submit(1, "small", 8, 20);
    loop.submit(2, "other", 8, 20);
    int guard = 0;
    while (loop.done.size() + loop.refused.size() < 2 && ++guard < 100) loop.step();
    CHECK(loop.refused == std::vector<RequestId>{1});
    CHECK(loop.done == std::vector<RequestId>{2});
    // The prefill sampled one token and 4 decode steps filled its 3 pages (12 tokens); the
    // 13th token needs a fourth.
    CHECK(loop.generated[1] == 5);
    CHECK(s->num_running() == 0);
    CHECK(s->num_waiting() == 0);
    // A first chunk larger than the whole share is refused at admission.
    loop.submit(3, "small", 40, 1);
    const BatchPlan p = loop.step();
    CHECK(p.too_large == std::vector<RequestId>{3});
    CHECK(s->tenant_stats("small").waiting == 0);
  }
  {
    // The same for the pool itself: a lone request that outgrows every page.
    auto s = make(o, {tenant("a")}, clock);
    FakeKv kv(3, 4);
    Loop loop{*s, kv};
    loop.submit(1, "a", 8, 20);
    int guard = 0;
    while (loop.refused.empty() && ++guard < 100) loop.step();
    CHECK(loop.refused == std::vector<RequestId>{1});
    CHECK(s->num_running() == 0);
  }
}

TEST_CASE("cancel and validation", "[scheduler]") {
  FakeClock clock;
  auto s = make(SchedulerOptions{}, {tenant("a")}, clock);
  FakeKv kv(1000, 4);
  Loop loop{*s, kv};
  loop.submit(1, "a", 10, 50);
  loop.submit(2, "a", 10, 50);
  loop.step();
  CHECK(s->cancel(1));        // running
  CHECK(!s->cancel(1));       // gone
  loop.submit(3, "a", 10, 5);
  clock.advance(2.5);
  CHECK(s->waiting_s(3) == Approx(2.5));
  CHECK(!s->cancel(3));  // waiting: removed, was not running
  CHECK(s->num_waiting() == 0);
  NewRequest bad;
  bad.id = 9;
  bad.tenant = "nobody";
  bad.prompt_tokens = 3;
  CHECK(s->submit(bad).code() == ErrorCode::kNotFound);
  bad.tenant = "a";
  bad.prompt_tokens = 0;
  CHECK(s->submit(bad).code() == ErrorCode::kInvalidArgument);
  bad.id = 2;
  bad.prompt_tokens = 3;
  CHECK(s->submit(bad).code() == ErrorCode::kFailedPrecondition);
  CHECK(Scheduler::create(SchedulerOptions{}, {tenant("x", 0.0)}, clock).status().code() ==
        ErrorCode::kInvalidArgument);
  CHECK(Scheduler::create(SchedulerOptions{}, {tenant("x"), tenant("x")}, clock).status().code() ==
        ErrorCode::kInvalidArgument);
}

TEST_CASE("a flooding tenant is held to its weighted share", "[scheduler][fairness]") {
  FakeClock clock;
  SchedulerOptions o;
  o.max_batched_tokens = 256;
  o.max_running = 8;
  o.quantum_tokens = 64;
  auto s = make(o, {tenant("flood", 1.0), tenant("steady", 1.0), tenant("gold", 2.0)}, clock);
  FakeKv kv(100000, 16);
  Loop loop{*s, kv};
  RequestId next = 1;
  // The flooder queues 2000 requests at once; the others keep a few queued at all times.
  for (int i = 0; i < 2000; ++i) loop.submit(next++, "flood", 64, 16);
  auto top_up = [&](const std::string& t, int64_t keep) {
    while (s->tenant_stats(t).waiting < keep) loop.submit(next++, t, 64, 16);
  };
  for (int step = 0; step < 3000; ++step) {
    top_up("steady", 4);
    top_up("gold", 4);
    loop.step();
  }
  const double flood = static_cast<double>(s->tenant_stats("flood").tokens_scheduled);
  const double steady = static_cast<double>(s->tenant_stats("steady").tokens_scheduled);
  const double gold = static_cast<double>(s->tenant_stats("gold").tokens_scheduled);
  const double total = flood + steady + gold;
  INFO("flood " << flood << " steady " << steady << " gold " << gold);
  CHECK(flood / total == Approx(0.25).epsilon(0.2));
  CHECK(steady / total == Approx(0.25).epsilon(0.2));
  CHECK(gold / total == Approx(0.5).epsilon(0.2));
}
