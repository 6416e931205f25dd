// KV settings resolution shared by the CLI, the config and requests: model defaults, error
// messages naming the setting, and a request's kv_policy / kv_budget under a tenant's cap.
#include "scheduler/kv_settings.h"

#include <catch2/catch.hpp>
#include <string>

using namespace trimserve;

namespace {

ModelConfig gated_model() {
  ModelConfig m;
  m.retention_gate = RetentionGateKind::kRg;
  m.memory_size = 256;
  m.buffer_size = 32;
  m.floor_budget_ratio = 0.25;
  return m;
}

std::string message(const Status& s) { return s.message(); }

}  // namespace

TEST_CASE("defaults come from the model", "[kv_settings]") {
  auto kv = resolve_kv_settings({}, gated_model(), kKvFlagNames);
  REQUIRE(kv.ok());
  CHECK(kv->policy == KvPolicy::kTrimKvGlobal);
  CHECK(kv->budget == 256);
  CHECK(kv->buffer == 32);
  CHECK(kv->floor_ratio == 0.25);
  auto plain = resolve_kv_settings({}, ModelConfig{}, kKvFlagNames);
  REQUIRE(plain.ok());
  CHECK(plain->policy == KvPolicy::kFull);
}

TEST_CASE("errors name the setting the way the front end calls it", "[kv_settings]") {
  KvSettings s;
  s.budget = 0;
  CHECK(message(resolve_kv_settings(s, gated_model(), kKvFlagNames).status()) ==
        "--kv-budget must be >= 1, got 0");
  CHECK(message(resolve_kv_settings(s, gated_model(), kKvConfigNames).status()) ==
        "kvpool.budget must be >= 1, got 0");
  KvSettings window;
  window.policy = KvPolicy::kWindow;
  CHECK(message(resolve_kv_settings(window, ModelConfig{}, kKvConfigNames).status()) ==
        "kvpool.policy window needs kvpool.budget (the model declares no memory_size)");
  KvSettings gates;
  gates.policy = KvPolicy::kTrimKv;
  CHECK(resolve_kv_settings(gates, ModelConfig{}, kKvFlagNames).status().code() ==
        ErrorCode::kInvalidArgument);
}

TEST_CASE("config keys: auto and zeros mean the model's", "[kv_settings]") {
  DaemonConfig::KvPool c;
  auto kv = resolve_config_kv(c, gated_model());
  REQUIRE(kv.ok());
  CHECK(kv->policy == KvPolicy::kTrimKvGlobal);
  CHECK(kv->budget == 256);
  c.policy = "trimkv";
  c.budget = 64;
  c.buffer = 8;
  kv = resolve_config_kv(c, gated_model());
  REQUIRE(kv.ok());
  CHECK(kv->policy == KvPolicy::kTrimKv);
  CHECK(kv->budget == 64);
  CHECK(kv->buffer == 8);
  c.policy = "lru";
  CHECK(message(resolve_config_kv(c, gated_model()).status()).rfind("kvpool.policy: unknown value 'lru'", 0) == 0);
}

TEST_CASE("a request overrides policy and budget within the tenant's cap", "[kv_settings]") {
  const ModelConfig model = gated_model();
  const SequenceKvConfig defaults = *resolve_kv_settings({}, model, kKvFlagNames);
  KvRequest r;
  SECTION("no overrides, no cap: the defaults") {
    auto kv = resolve_request_kv(defaults, r, 0, model);
    REQUIRE(kv.ok());
    CHECK(kv->budget == 256);
  }
  SECTION("budget within the cap") {
    r.budget = 128;
    auto kv = resolve_request_kv(defaults, r, 512, model);
    REQUIRE(kv.ok());
    CHECK(kv->budget == 128);
    CHECK(kv->policy == KvPolicy::kTrimKvGlobal);
  }
  SECTION("budget over the cap is refused") {
    r.budget = 1024;
    CHECK(message(resolve_request_kv(defaults, r, 512, model).status()) ==
          "kv_budget 1024 exceeds the tenant's kv_budget_cap of 512 entries per lane");
  }
  SECTION("a default over the cap is lowered to it") {
    auto kv = resolve_request_kv(defaults, r, 100, model);
    REQUIRE(kv.ok());
    CHECK(kv->budget == 100);
  }
  SECTION("full under a cap") {
    r.policy = "full";
    CHECK(resolve_request_kv(defaults, r, 100, model).status().code() ==
          ErrorCode::kInvalidArgument);
    // As a default (a gateless model), full becomes a window of the cap.
    const SequenceKvConfig plain = *resolve_kv_settings({}, ModelConfig{}, kKvFlagNames);
    auto kv = resolve_request_kv(plain, KvRequest{}, 3, ModelConfig{});
    REQUIRE(kv.ok());
    CHECK(kv->policy == KvPolicy::kWindow);
    CHECK(kv->budget == 3);
    CHECK(kv->window_sinks == 2);
  }
  SECTION("policy switch takes the model's budget, errors name the request fields") {
    r.policy = "trimkv";
    auto kv = resolve_request_kv(defaults, r, 0, model);
    REQUIRE(kv.ok());
    CHECK(kv->policy == KvPolicy::kTrimKv);
    CHECK(kv->budget == 256);
    r.policy = "trimkvv";
    CHECK(message(resolve_request_kv(defaults, r, 0, model).status()).rfind("kv_policy: unknown value", 0) == 0);
    r.policy = std::nullopt;
    r.budget = 0;
    CHECK(message(resolve_request_kv(defaults, r, 0, model).status()) == "kv_budget must be >= 1, got 0");
    r.budget = int64_t{1} << 40;
    CHECK(message(resolve_request_kv(defaults, r, 0, model).status()) ==
          "kv_budget must be <= 2^31, got 1099511627776");
  }
}
