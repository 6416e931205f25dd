// Tenants: bearer keys (plain and SHA-256) to tenants, 401/403 in OpenAI's shape, and the
// per-minute request and token buckets with a fake clock.
#include "server/api/tenants.h"

#include <catch2/catch.hpp>

#include "tests/support/fake_clock.h"

using namespace trimserve;
using namespace trimserve::api;

namespace {

DaemonConfig::Tenant tenant(const std::string& name) {
  DaemonConfig::Tenant t;
  t.name = name;
  return t;
}

}  // namespace

TEST_CASE("sha256_hex matches the standard vector", "[tenants]") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("no tenants configured: one open tenant", "[tenants]") {
  testing::FakeClock clock;
  Tenants t({}, clock);
  auto r = t.authenticate("");
  REQUIRE(std::holds_alternative<const TenantPolicy*>(r));
  CHECK(std::get<const TenantPolicy*>(r)->name == "default");
}

TEST_CASE("keys map to tenants; bad keys are 401, other models 403", "[tenants]") {
  testing::FakeClock clock;
  DaemonConfig::Tenant a = tenant("acme");
  a.api_keys = {"sk-acme"};
  a.allowed_models = {"tiny"};
  DaemonConfig::Tenant b = tenant("globex");
  b.api_key_sha256 = {sha256_hex("sk-globex")};
  Tenants t({a, b}, clock);
  auto name = [&](const std::string& header) {
    auto r = t.authenticate(header);
    return std::holds_alternative<ApiError>(r) ? std::string("401:") + std::get<ApiError>(r).code
                                               : std::get<const TenantPolicy*>(r)->name;
  };
  CHECK(name("Bearer sk-acme") == "acme");
  CHECK(name("bearer sk-globex") == "globex");
  CHECK(name("") == "401:invalid_api_key");
  CHECK(name("Bearer sk-nobody") == "401:invalid_api_key");
  CHECK(name("Basic xyz") == "401:invalid_api_key");
  auto wrong = t.authenticate("Bearer sk-nobody");
  CHECK(std::get<ApiError>(wrong).message.find("sk-nobody") == std::string::npos);  // never echoed
  const TenantPolicy& acme = *std::get<const TenantPolicy*>(t.authenticate("Bearer sk-acme"));
  CHECK(!t.check_model(acme, "tiny"));
  auto denied = t.check_model(acme, "big");
  REQUIRE(denied);
  CHECK(denied->status == 403);
}

TEST_CASE("per-minute request and token limits refill over time", "[tenants]") {
  testing::FakeClock clock;
  DaemonConfig::Tenant a = tenant("acme");
  a.api_keys = {"k"};
  a.limits.requests_per_min = 2;
  a.limits.tokens_per_min = 1000;
  Tenants t({a}, clock);
  const TenantPolicy& acme = *std::get<const TenantPolicy*>(t.authenticate("Bearer k"));
  CHECK(!t.admit(acme, 100));
  CHECK(!t.admit(acme, 100));
  auto limited = t.admit(acme, 100);
  REQUIRE(limited);
  CHECK(limited->status == 429);
  CHECK(limited->retry_after_s == Approx(30.0));
  clock.advance(30);
  CHECK(!t.admit(acme, 100));
  // Tokens: 700 left after three requests of 100; 800 more must wait.
  clock.advance(60);
  CHECK(!t.admit(acme, 900));
  auto tokens = t.admit(acme, 800);
  REQUIRE(tokens);
  CHECK(tokens->status == 429);
  CHECK(tokens->message.find("tokens per minute") != std::string::npos);
  // More than a whole minute's tokens can never pass: 422, not a retry.
  CHECK(t.admit(acme, 5000)->status == 422);
}

TEST_CASE("tokens a request did not generate are refunded, up to a minute's worth", "[tenants]") {
  testing::FakeClock clock;
  DaemonConfig::Tenant a = tenant("acme");
  a.api_keys = {"k"};
  a.limits.tokens_per_min = 1000;
  Tenants t({a}, clock);
  const TenantPolicy& acme = *std::get<const TenantPolicy*>(t.authenticate("Bearer k"));
  CHECK(!t.admit(acme, 900));  // charged prompt + max_tokens
  CHECK(t.admit(acme, 500));   // 100 left
  t.refund(acme, 600);         // it stopped early: 600 of its max_tokens unused
  CHECK(!t.admit(acme, 700));
  CHECK(t.admit(acme, 1));     // 0 left
  t.refund(acme, 5000);        // never more than the bucket holds
  CHECK(!t.admit(acme, 1000));
  CHECK(t.admit(acme, 1));
  t.refund(acme, -5);          // nothing to give back
  CHECK(t.admit(acme, 1));
}
