#include "config/validate.h"

#include <catch2/catch.hpp>

#include <string>

using namespace trimserve;

namespace {

std::string error_of(const DaemonConfig& config) {
  Status status = validate(config);
  REQUIRE_FALSE(status.ok());
  CHECK(status.code() == ErrorCode::kInvalidArgument);
  return status.message();
}

DaemonConfig::Tenant tenant(const std::string& name, const std::string& key) {
  DaemonConfig::Tenant t;
  t.name = name;
  t.api_keys = {key};
  return t;
}

const std::string kDigestA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const std::string kDigestB = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

}  // namespace

TEST_CASE("the defaults are valid", "[config][validate]") {
  CHECK(validate(DaemonConfig{}).ok());
}

TEST_CASE("server: host, ports and TLS files", "[config][validate]") {
  DaemonConfig c;
  c.server.host = "";
  CHECK(error_of(c) == "server.host: must not be empty");

  c = {};
  c.server.port = 70000;  // e.g. from --port, which bypasses the loader
  CHECK(error_of(c) == "server.port: expected an integer in [0, 65535], got 70000");
  c = {};
  c.server.grpc_port = -1;
  CHECK(error_of(c) == "server.grpc_port: expected an integer in [0, 65535], got -1");

  c = {};
  c.server.grpc_port = 8080;
  CHECK(error_of(c) ==
        "server.grpc_port: 8080 is already server.port; HTTP and gRPC need different ports");
  c.server.port = 0;
  c.server.grpc_port = 0;  // both pick free ports: no clash
  CHECK(validate(c).ok());

  c = {};
  c.server.tls.enabled = true;
  CHECK(error_of(c) == "server.tls.cert_file: required when server.tls.enabled is true");
  c.server.tls.cert_file = "cert.pem";
  CHECK(error_of(c) == "server.tls.key_file: required when server.tls.enabled is true");
  c.server.tls.key_file = "key.pem";
  CHECK(validate(c).ok());
  c.server.tls.enabled = false;
  c.server.tls.cert_file.clear();  // files without TLS are simply unused
  CHECK(validate(c).ok());
}

TEST_CASE("token limits must fit the model context and the step", "[config][validate]") {
  DaemonConfig c;
  c.model.max_model_len = 4096;
  c.server.limits.max_prompt_tokens = 8192;
  CHECK(error_of(c) == "server.limits.max_prompt_tokens: 8192 exceeds model.max_model_len (4096)");
  c.model.max_model_len = 0;  // resolved from the model later: nothing to compare yet
  CHECK(validate(c).ok());

  c = {};
  c.engine.prefill_chunk = 4096;
  CHECK(error_of(c) == "engine.prefill_chunk: 4096 exceeds scheduler.max_batched_tokens (2048)");
  c.scheduler.max_batched_tokens = 4096;
  CHECK(validate(c).ok());
}

TEST_CASE("kvpool: policy names, window sinks, idle session memory", "[config][validate]") {
  DaemonConfig c;
  c.kvpool.policy = "trimkvv";
  CHECK(error_of(c) ==
        "kvpool.policy: unknown value 'trimkvv' (expected auto|full|window|trimkv|trimkv-global)");

  c = {};
  c.kvpool.policy = "window";
  c.kvpool.budget = 4;
  c.kvpool.window_sinks = 4;
  CHECK(error_of(c) ==
        "kvpool.window_sinks: 4 leaves no room for recent entries within kvpool.budget (4)");
  c.kvpool.budget = 5;
  CHECK(validate(c).ok());
  c.kvpool.policy = "trimkv";  // sinks only matter to the window policy
  c.kvpool.budget = 2;
  CHECK(validate(c).ok());

  c = {};
  c.kvpool.capacity.kind = DaemonConfig::KvPool::Capacity::Kind::kBytes;
  c.kvpool.capacity.bytes = int64_t{2} << 30;
  c.kvpool.sessions.max_idle_bytes = int64_t{4} << 30;
  CHECK(error_of(c) == "kvpool.sessions.max_idle_bytes: 4GiB exceeds kvpool.capacity (2GiB)");
  c.kvpool.sessions.max_idle_bytes = int64_t{1} << 30;
  CHECK(validate(c).ok());
}

TEST_CASE("tenants: names are unique and label-safe", "[config][validate]") {
  DaemonConfig c;
  c.tenants = {tenant("alice", "k1"), tenant("bob", "k2"), tenant("alice", "k3")};
  CHECK(error_of(c) == "tenants[2].name: 'alice' is already tenants[0].name");

  c.tenants = {tenant("", "k1")};
  CHECK(error_of(c) == "tenants[0].name: required");
  c.tenants = {tenant("team a", "k1")};
  CHECK(error_of(c) ==
        "tenants[0].name: must be 1 to 64 of the characters A-Z a-z 0-9 . _ -, got 'team a'");
  c.tenants = {tenant(std::string(65, 'x'), "k1")};
  CHECK(error_of(c).rfind("tenants[0].name: must be 1 to 64", 0) == 0);
  c.tenants = {tenant("Team_A.prod-1", "k1")};
  CHECK(validate(c).ok());
}

TEST_CASE("tenants: keys are present, well-formed and unique across tenants",
          "[config][validate]") {
  DaemonConfig c;
  c.tenants = {tenant("a", "k1")};
  c.tenants[0].api_keys.clear();
  CHECK(error_of(c) == "tenants[0]: needs api_keys, api_keys_file or api_key_sha256 (no request could reach it)");

  c.tenants = {tenant("a", "")};
  CHECK(error_of(c) == "tenants[0].api_keys[0]: must not be empty");
  c.tenants = {tenant("a", "sk one")};
  CHECK(error_of(c) == "tenants[0].api_keys[0]: must not contain spaces or control characters");

  c.tenants = {tenant("a", "k1"), tenant("b", "k2")};
  c.tenants[1].api_keys.push_back("k1");
  const std::string message = error_of(c);
  CHECK(message == "tenants[1].api_keys[1]: same key as tenants[0].api_keys[0]");
  c.tenants = {tenant("a", "k1")};
  c.tenants[0].api_keys.push_back("k1");
  CHECK(error_of(c) == "tenants[0].api_keys[1]: same key as tenants[0].api_keys[0]");
}

TEST_CASE("tenants: SHA-256 digests are 64 hex digits and unique", "[config][validate]") {
  DaemonConfig c;
  DaemonConfig::Tenant t;
  t.name = "hashed";
  t.api_key_sha256 = {kDigestA};
  c.tenants = {t};
  CHECK(validate(c).ok());  // a tenant with only hashed keys is fine

  c.tenants[0].api_key_sha256 = {kDigestA.substr(1)};
  CHECK(error_of(c) ==
        "tenants[0].api_key_sha256[0]: expected 64 hex digits (the SHA-256 of the key), got 63 "
        "characters");
  c.tenants[0].api_key_sha256 = {"z" + kDigestA.substr(1)};
  CHECK(error_of(c) ==
        "tenants[0].api_key_sha256[0]: expected 64 hex digits (the SHA-256 of the key), got the "
        "non-hex character 'z'");

  // Case does not make a digest different.
  DaemonConfig::Tenant other;
  other.name = "other";
  std::string upper = kDigestA;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  other.api_key_sha256 = {kDigestB, upper};
  c.tenants = {t, other};
  CHECK(error_of(c) == "tenants[1].api_key_sha256[1]: same digest as tenants[0].api_key_sha256[0]");
}

TEST_CASE("tenants: weight is positive, kv_share a fraction of at most 1", "[config][validate]") {
  DaemonConfig c;
  c.tenants = {tenant("a", "k1")};
  c.tenants[0].weight = 0;
  CHECK(error_of(c) == "tenants[0].weight: must be a number > 0, got 0");
  c.tenants[0].weight = -2;
  CHECK(error_of(c) == "tenants[0].weight: must be a number > 0, got -2");
  c.tenants[0].weight = 0.25;
  CHECK(validate(c).ok());

  for (double bad : {0.0, -0.5, 1.5}) {
    c.tenants[0].limits.kv_share = bad;
    CHECK(error_of(c).rfind("tenants[0].limits.kv_share: must be in (0, 1], got ", 0) == 0);
  }
  c.tenants[0].limits.kv_share = 1.5;
  CHECK(error_of(c) == "tenants[0].limits.kv_share: must be in (0, 1], got 1.5");
  c.tenants[0].limits.kv_share = 1.0;
  CHECK(validate(c).ok());

  c.tenants[0].allowed_models = {"qwen", ""};
  CHECK(error_of(c) == "tenants[0].allowed_models[1]: must not be empty");
}
