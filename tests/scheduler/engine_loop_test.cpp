// EngineLoop over the real CPU engine (tiny model): batched steps give every request exactly
// the tokens it gets alone (greedy), sessions reuse their cache across turns, a full stream
// pauses only its own request, cancellation frees the pages, errors arrive as error events,
// and the threaded loop serves concurrent submitters.
#include "scheduler/engine_loop.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "tests/support/engine_rig.h"
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

  explicit Core(int64_t pages = 2048, int64_t max_batched = 256)
      : rig(testing::make_engine_rig(weights, pages)) {
    sessions = std::move(SessionManager::create(*rig.engine, *rig.pool, clock, {})).value();
    SchedulerOptions o;
    o.max_batched_tokens = max_batched;
    o.prefill_chunk = 32;  // prompts span several compression boundaries
    scheduler = std::move(Scheduler::create(o, {TenantSchedule{"default"}, TenantSchedule{"b"}},
                                            clock))
                    .value();
    loop = std::make_unique<EngineLoop>(*rig.engine, *rig.pool, *sessions, *scheduler,
                                        *tokenizer, std::vector<int64_t>{});
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

Tokens run_alone(const Tokens& prompt, int64_t max_tokens) {
  Core core;
  auto s = core.loop->submit(request(prompt, max_tokens));
  Collected c;
  while (!c.last) {
    core.loop->step_once();
    drain(*s, c);
  }
  REQUIRE(c.last->kind == StreamEvent::Kind::kFinished);
  return c.tokens;
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
