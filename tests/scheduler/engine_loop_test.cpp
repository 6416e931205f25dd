// EngineLoop over the real CPU engine (tiny model): batched steps give every request exactly
// the tokens it gets alone (greedy), sessions reuse their cache across turns, a full stream
// pauses only its own request, cancellation and deadlines free the pages, errors arrive as
// error events, logprobs ride with their tokens, a tenant's KV share holds its requests and
// idle sessions under the cap, and the threaded loop serves concurrent submitters.
#include "scheduler/engine_loop.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include "engine/fault_injecting_engine.h"
#include "tests/support/engine_rig.h"
#include "tests/support/temp_dir.h"
#include "tests/support/fake_clock.h"
#include "tests/support/tiny_models.h"

using namespace trimserve;
using Tokens = std::vector<int32_t>;
using namespace std::chrono_literals;

namespace {

Tokens ids(int n, int salt) {
  Tokens v;
  for (int i = 0; i < n; ++i) v.push_back((i * 37 + salt * 101 + 11) % 500);
  return v;
}

SequenceKvConfig global_kv() {
  SequenceKvConfig kv;
  kv.policy = KvPolicy::kTrimKvGlobal;
  kv.budget = 16;
  kv.buffer = 4;
  return kv;
}

// A whole daemon core: engine + pool + sessions + scheduler + loop.
struct Core {
  std::shared_ptr<const ModelWeights> weights = testing::load_tiny_weights("gqa2-untied-rg");
  std::unique_ptr<Tokenizer> tokenizer =
      std::move(Tokenizer::load_model_dir(testing::tiny_model_dir("gqa2-untied-rg"))).value();
  testing::EngineRig rig;
  testing::FakeClock clock;
  std::unique_ptr<SessionManager> sessions;
  std::unique_ptr<Scheduler> scheduler;
  std::unique_ptr<EngineLoop> loop;

  std::unique_ptr<FaultInjectingEngine> faulty;  // between the loop and the engine, if asked

  explicit Core(int64_t pages = 2048, int64_t max_batched = 256, int64_t b_max_pages = 0,
                const std::string& fault_trigger = "")
      : rig(testing::make_engine_rig(weights, pages)) {
    Engine* engine = rig.engine.get();
    if (!fault_trigger.empty()) {
      faulty = std::make_unique<FaultInjectingEngine>(*engine, fault_trigger);
      engine = faulty.get();
    }
    sessions = std::move(SessionManager::create(*engine, *rig.pool, clock, {})).value();
    SchedulerOptions o;
    o.max_batched_tokens = max_batched;
    o.prefill_chunk = 32;  // prompts span several compression boundaries
    TenantSchedule b{"b"};
    b.max_pages = b_max_pages;
    scheduler = std::move(Scheduler::create(o, {TenantSchedule{"default"}, b}, clock)).value();
    loop = std::make_unique<EngineLoop>(*engine, *rig.pool, *sessions, *scheduler, *tokenizer,
                                        std::vector<int64_t>{});
  }
};

GenerationRequest request(const Tokens& prompt, int64_t max_tokens) {
  GenerationRequest r;
  r.prompt = prompt;
  r.sampling.temperature = 0.0;
  r.sampling.max_tokens = max_tokens;
  r.sampling.ignore_eos = true;
  r.kv = global_kv();
  return r;
}

struct Collected {
  Tokens tokens;
  std::optional<StreamEvent> last;
};

// Everything a stream holds now (non-blocking).
void drain(TokenStream& s, Collected& c) {
  while (auto e = s.pop(0ms)) {
    if (e->kind == StreamEvent::Kind::kToken) {
      c.tokens.push_back(e->token);
    } else {
      c.last = std::move(e);
    }
  }
}

// Steps the loop until the stream's final event.
Collected run_to_end(Core& core, TokenStream& s) {
  Collected c;
  int guard = 0;
  while (!c.last && ++guard < 1000) {
    core.loop->step_once();
    drain(s, c);
  }
  REQUIRE(c.last);
  return c;
}

Tokens run_alone(const Tokens& prompt, int64_t max_tokens) {
  Core core;
  auto s = core.loop->submit(request(prompt, max_tokens));
  const Collected c = run_to_end(core, *s);
  REQUIRE(c.last->kind == StreamEvent::Kind::kFinished);
  return c.tokens;
}

// Pages held by a tenant's idle sessions.
int64_t idle_pages(Core& core, const std::string& tenant) {
  int64_t pages = 0;
  for (SeqId seq : core.sessions->store().idle_sequences(tenant)) pages += core.rig.pool->pages_held(seq);
  return pages;
}

}  // namespace

TEST_CASE("batched steps give each request its own greedy tokens", "[engine_loop]") {
  Core core(2048, 96);
  std::vector<Tokens> prompts;
  std::vector<std::shared_ptr<TokenStream>> streams;
  for (int i = 0; i < 6; ++i) {
    prompts.push_back(ids(20 + 9 * i, i));
    streams.push_back(core.loop->submit(request(prompts.back(), 6 + i)));
  }
  std::vector<Collected> got(6);
  int guard = 0;
  auto all_done = [&] {
    return std::all_of(got.begin(), got.end(), [](const Collected& c) { return c.last.has_value(); });
  };
  while (!all_done() && ++guard < 1000) {
    core.loop->step_once();
    for (size_t i = 0; i < streams.size(); ++i) drain(*streams[i], got[i]);
  }
  REQUIRE(all_done());
  CHECK(core.loop->stats().max_batch_sequences >= 4);  // really batched
  for (int i = 0; i < 6; ++i) {
    INFO("request " << i);
    REQUIRE(got[i].last->kind == StreamEvent::Kind::kFinished);
    CHECK(got[i].last->usage.completion_tokens == 6 + i);
    CHECK(got[i].last->finish == FinishReason::kLength);
    CHECK(got[i].tokens == run_alone(prompts[i], 6 + i));
  }
  CHECK(core.rig.pool->stats().pages_used == 0);
  CHECK(core.rig.pool->check_invariants().ok());
}

TEST_CASE("session turns through the loop reuse the cache", "[engine_loop]") {
  Core core;
  Tokens conversation = ids(30, 1);
  for (int turn = 0; turn < 3; ++turn) {
    GenerationRequest r = request(conversation, 4);
    r.session_id = "chat";
    auto s = core.loop->submit(r);
    Collected c;
    while (!c.last) {
      core.loop->step_once();
      drain(*s, c);
    }
    REQUIRE(c.last->kind == StreamEvent::Kind::kFinished);
    if (turn == 0) {
      CHECK(c.last->usage.cached_tokens == 0);
    } else {
      CHECK(c.last->usage.cached_tokens > 0);
    }
    conversation.insert(conversation.end(), c.tokens.begin(), c.tokens.end());
    const Tokens more = ids(10, turn + 5);
    conversation.insert(conversation.end(), more.begin(), more.end());
  }
  CHECK(core.sessions->stats().sessions.hits == 2);
  CHECK(core.rig.pool->check_invariants().ok());
}

TEST_CASE("a full stream pauses its request only; cancel frees everything", "[engine_loop]") {
  Core core;
  GenerationRequest slow = request(ids(12, 1), 20);
  slow.stream_capacity = 2;
  auto slow_stream = core.loop->submit(slow);
  auto fast_stream = core.loop->submit(request(ids(12, 2), 20));
  Collected fast;
  int guard = 0;
  while (!fast.last && ++guard < 200) {
    core.loop->step_once();
    drain(*fast_stream, fast);  // the slow reader never reads
  }
  REQUIRE(fast.last);
  CHECK(fast.tokens.size() == 20);
  CHECK(!slow_stream->done());  // paused at its capacity, not finished
  CHECK(core.scheduler->num_running() == 1);
  // The reader catches up: it finishes.
  Collected slow_got;
  while (!slow_got.last && ++guard < 400) {
    core.loop->step_once();
    drain(*slow_stream, slow_got);
  }
  REQUIRE(slow_got.last);
  CHECK(slow_got.tokens.size() == 20);

  auto cancelled = core.loop->submit(request(ids(40, 3), 50));
  core.loop->step_once();
  core.loop->step_once();
  CHECK(core.rig.pool->stats().pages_used > 0);
  cancelled->cancel();
  core.loop->step_once();
  CHECK(core.rig.pool->stats().pages_used == 0);
  CHECK(core.scheduler->num_running() == 0);
}

TEST_CASE("bad requests get an error event and the loop keeps serving", "[engine_loop]") {
  Core core;
  GenerationRequest unknown = request(ids(5, 1), 2);
  unknown.tenant = "nobody";
  auto s1 = core.loop->submit(unknown);
  auto s2 = core.loop->submit(request({}, 2));
  GenerationRequest busy = request(ids(5, 1), 2);
  busy.session_id = "s";
  auto s3 = core.loop->submit(busy);
  auto s4 = core.loop->submit(busy);  // the same session while its turn runs
  core.loop->step_once();
  auto first = [](TokenStream& s) { return s.pop(0ms); };
  auto e1 = first(*s1);
  REQUIRE(e1);
  CHECK(e1->error.code() == ErrorCode::kNotFound);
  CHECK(first(*s2)->error.code() == ErrorCode::kInvalidArgument);
  CHECK(first(*s4)->error.code() == ErrorCode::kFailedPrecondition);
  Collected c;
  while (!c.last) {
    core.loop->step_once();
    drain(*s3, c);
  }
  CHECK(c.last->kind == StreamEvent::Kind::kFinished);
  CHECK(core.rig.pool->check_invariants().ok());
}

TEST_CASE("a deadline ends the request within one iteration and frees its pages",
          "[engine_loop]") {
  Core core;
  GenerationRequest expired = request(ids(20, 1), 5);
  expired.deadline = std::chrono::steady_clock::now() - 1ms;
  auto s1 = core.loop->submit(expired);
  core.loop->step_once();
  auto e1 = s1->pop(0ms);
  REQUIRE(e1);
  CHECK(e1->kind == StreamEvent::Kind::kError);
  CHECK(e1->error.code() == ErrorCode::kDeadlineExceeded);
  // A running request: it streams, then its deadline passes between two iterations.
  GenerationRequest running = request(ids(20, 2), 1000);
  running.deadline = std::chrono::steady_clock::now() + 300ms;
  auto s2 = core.loop->submit(running);
  Collected c;
  while (c.tokens.size() < 3) {
    core.loop->step_once();
    drain(*s2, c);
  }
  CHECK(core.rig.pool->stats().pages_used > 0);
  std::this_thread::sleep_until(*running.deadline + 1ms);
  core.loop->step_once();
  drain(*s2, c);
  REQUIRE(c.last);
  CHECK(c.last->error.code() == ErrorCode::kDeadlineExceeded);
  CHECK(c.last->error.message().find("deadline") != std::string::npos);
  CHECK(core.rig.pool->stats().pages_used == 0);
  CHECK(core.scheduler->num_running() == 0);
  const EngineLoopStats st = core.loop->stats();
  CHECK(st.deadlines_exceeded == 2);
  CHECK(st.errors == 0);  // a deadline is not an engine error
  CHECK(!st.last_step_failed);
}

TEST_CASE("logprobs ride with their tokens", "[engine_loop]") {
  Core core;
  GenerationRequest r = request(ids(20, 4), 6);
  r.sampling.logprobs = true;
  r.sampling.top_logprobs = 3;
  auto s = core.loop->submit(r);
  int tokens = 0;
  int guard = 0;
  for (bool done = false; !done && ++guard < 200;) {
    core.loop->step_once();
    while (auto e = s->pop(0ms)) {
      if (e->kind != StreamEvent::Kind::kToken) {
        CHECK(e->kind == StreamEvent::Kind::kFinished);
        done = true;
        break;
      }
      ++tokens;
      REQUIRE(e->logprobs);
      CHECK(e->logprobs->token == e->token);
      REQUIRE(e->logprobs->top_logprobs.size() == 3);
      // Greedy: the chosen token is the most likely one.
      CHECK(e->logprobs->top_logprobs[0].token == e->token);
      CHECK(e->logprobs->logprob <= 0.0f);
    }
  }
  CHECK(tokens == 6);
  // Without the flag, no logprobs are computed.
  auto plain = core.loop->submit(request(ids(20, 4), 2));
  core.loop->step_once();
  auto e = plain->pop(0ms);
  REQUIRE(e);
  CHECK(!e->logprobs);
}

TEST_CASE("a tenant's KV share holds its requests and idle sessions under the cap",
          "[engine_loop][kv_share]") {
  // One session turn's footprint, measured on a core without shares.
  int64_t one_session = 0;
  {
    Core probe;
    GenerationRequest r = request(ids(30, 1), 4);
    r.session_id = "probe";
    auto s = probe.loop->submit(r);
    run_to_end(probe, *s);
    one_session = idle_pages(probe, "default");
  }
  REQUIRE(one_session > 0);
  const int64_t cap = 2 * one_session + one_session / 2;  // room for two idle sessions
  Core core(2048, 256, cap);
  for (int i = 0; i < 3; ++i) {  // the unlimited tenant parks three sessions
    GenerationRequest r = request(ids(30, 100 + i), 4);
    r.session_id = "d" + std::to_string(i);
    auto s = core.loop->submit(r);
    CHECK(run_to_end(core, *s).last->kind == StreamEvent::Kind::kFinished);
  }
  const int64_t default_pages = idle_pages(core, "default");
  // Pages of all of b's sessions, running or idle.
  auto b_pages = [&] {
    int64_t pages = 0;
    for (int i = 0; i < 5; ++i) {
      auto info = core.sessions->store().info({"b", "s" + std::to_string(i)});
      if (info.ok()) pages += core.rig.pool->pages_held(info->seq);
    }
    return pages;
  };
  int64_t peak = 0;
  for (int i = 0; i < 5; ++i) {
    GenerationRequest r = request(ids(30, i), 4);
    r.tenant = "b";
    r.session_id = "s" + std::to_string(i);
    auto s = core.loop->submit(r);
    Collected c;
    while (!c.last) {
      core.loop->step_once();
      drain(*s, c);
      peak = std::max(peak, b_pages());
      CHECK(b_pages() <= cap);
    }
    CHECK(c.last->kind == StreamEvent::Kind::kFinished);
    CHECK(c.last->usage.completion_tokens == 4);
  }
  core.loop->step_once();
  CHECK(b_pages() <= cap);
  CHECK(peak > one_session);  // the share was really used, not trivially far from the cap
  // b's oldest sessions went for its newest; the other tenant lost nothing.
  CHECK(core.sessions->store().info({"b", "s4"}).ok());
  CHECK(!core.sessions->store().info({"b", "s0"}).ok());
  CHECK(core.sessions->stats().sessions.evicted_limit >= 3);
  CHECK(idle_pages(core, "default") == default_pages);
  CHECK(core.sessions->store().idle_sequences("default").size() == 3);
  CHECK(core.rig.pool->check_invariants().ok());
}

TEST_CASE("a failed engine step fails its requests, frees them, and the loop recovers",
          "[engine_loop]") {
  testing::TempDir dir;
  const std::string trigger = dir.file("fault");
  Core core(2048, 256, 0, trigger);
  std::vector<Status> reported;
  core.loop->set_step_error_policy(300ms, [&](const Status& s) { reported.push_back(s); });
  auto a = core.loop->submit(request(ids(20, 1), 30));
  auto b = core.loop->submit(request(ids(12, 2), 30));
  Collected ca, cb;
  for (int i = 0; i < 4; ++i) {  // both are decoding by now
    core.loop->step_once();
    drain(*a, ca);
    drain(*b, cb);
  }
  REQUIRE(!ca.tokens.empty());
  REQUIRE(!cb.tokens.empty());
  std::ofstream(trigger) << "1";
  core.loop->step_once();
  drain(*a, ca);
  drain(*b, cb);
  for (const Collected* c : {&ca, &cb}) {
    REQUIRE(c->last);
    CHECK(c->last->kind == StreamEvent::Kind::kError);
    CHECK(c->last->error.code() == ErrorCode::kInternal);
    CHECK_THAT(c->last->error.message(), Catch::Contains("fault injected"));
  }
  REQUIRE(reported.size() == 1);
  CHECK(reported[0].code() == ErrorCode::kInternal);
  CHECK(core.faulty->injected() == 1);
  CHECK(core.rig.pool->stats().pages_used == 0);
  CHECK(core.rig.pool->check_invariants().ok());
  // The next request runs as if nothing had happened.
  auto again = core.loop->submit(request(ids(20, 1), 5));
  const Collected c = run_to_end(core, *again);
  CHECK(c.last->kind == StreamEvent::Kind::kFinished);
  CHECK(c.tokens == run_alone(ids(20, 1), 5));
}

TEST_CASE("healthy() is false for the step-error policy's unready time", "[engine_loop]") {
  testing::TempDir dir;
  const std::string trigger = dir.file("fault");
  Core core(2048, 256, 0, trigger);
  core.loop->set_step_error_policy(400ms, nullptr);
  core.loop->start();
  CHECK(core.loop->healthy());
  std::ofstream(trigger) << "1";
  auto s = core.loop->submit(request(ids(10, 3), 5));
  auto e = s->pop(10000ms);
  REQUIRE(e);
  CHECK(e->kind == StreamEvent::Kind::kError);
  const auto failed_at = std::chrono::steady_clock::now();
  CHECK_FALSE(core.loop->healthy());
  while (!core.loop->healthy() && std::chrono::steady_clock::now() - failed_at < 10s) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK(core.loop->healthy());
  CHECK(std::chrono::steady_clock::now() - failed_at >= 300ms);  // not before (with slack)
  core.loop->stop();
}

TEST_CASE("the threaded loop serves concurrent submitters", "[engine_loop]") {
  Core core;
  core.loop->start();
  std::vector<std::thread> clients;
  std::vector<Tokens> got(8);
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&, i] {
      GenerationRequest r = request(ids(15 + i, 10 + i), 5);
      r.tenant = i % 2 ? "b" : "default";
      auto s = core.loop->submit(r);
      for (;;) {
        auto e = s->pop(5000ms);
        if (!e || e->kind != StreamEvent::Kind::kToken) break;
        got[i].push_back(e->token);
      }
    });
  }
  for (auto& t : clients) t.join();
  core.loop->stop();
  for (int i = 0; i < 8; ++i) {
    INFO("client " << i);
    CHECK(got[i] == run_alone(ids(15 + i, 10 + i), 5));
  }
  // After stop, a submitted request is refused as unavailable.
  auto late = core.loop->submit(request(ids(5, 1), 2));
  core.loop->stop();
  auto e = late->pop(0ms);
  REQUIRE(e);
  CHECK(e->error.code() == ErrorCode::kUnavailable);
}
