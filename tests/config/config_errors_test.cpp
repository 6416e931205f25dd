// The loader's error messages, exactly: key path, what was expected, what was found, and
// where (source:line:column). Operators fix their config from these alone.
#include "config/config_loader.h"
#include "tests/config/config_test_util.h"

#include <catch2/catch.hpp>

#include <string>

using namespace trimserve;

using testing::error_of;
using testing::parsed;

TEST_CASE("wrong types name the key path, the expectation and the value", "[config]") {
  CHECK(error_of("server:\n  port: http\n") ==
        "server.port: expected an integer in [0, 65535], got \"http\" (at t.yaml:2:9)");
  CHECK(error_of("server:\n  port: 70000\n") ==
        "server.port: expected an integer in [0, 65535], got \"70000\" (at t.yaml:2:9)");
  CHECK(error_of("server:\n  port: [1]\n") ==
        "server.port: expected an integer in [0, 65535], got a list (at t.yaml:2:9)");
  CHECK(error_of("server: 8080\n") == "server: expected a mapping, got \"8080\" (at t.yaml:1:9)");
  CHECK(error_of("server:\n  host: {a: 1}\n") ==
        "server.host: expected a string, got a mapping (at t.yaml:2:9)");
  CHECK(error_of("server:\n  tls:\n    enabled: yes\n") ==
        "server.tls.enabled: expected true or false, got \"yes\" (at t.yaml:3:14)");
  CHECK(error_of("server:\n  limits:\n    max_body_bytes: 8 potatoes\n") ==
        "server.limits.max_body_bytes: expected a byte size >= 1B (e.g. 4096, 16KiB, 8MiB, "
        "2GiB), got \"8 potatoes\" (at t.yaml:3:21)");
  CHECK(error_of("server:\n  limits:\n    max_connections: 0\n") ==
        "server.limits.max_connections: expected an integer >= 1, got \"0\" (at t.yaml:3:22)");
  CHECK(error_of("kvpool:\n  sessions:\n    ttl_s: forever\n") ==
        "kvpool.sessions.ttl_s: expected a duration in seconds (e.g. 30, 1.5s, 500ms, 5m, 2h), "
        "got \"forever\" (at t.yaml:3:12)");
  CHECK(error_of("kvpool:\n  low_watermark: 1\n") ==
        "kvpool.low_watermark: expected a number in [0, 1), got \"1\" (at t.yaml:2:18)");
  CHECK(error_of("kvpool:\n  floor_ratio: -0.1\n") ==
        "kvpool.floor_ratio: expected a number in [0, 1), got \"-0.1\" (at t.yaml:2:16)");
  CHECK(error_of("engine:\n  seed: -1\n") ==
        "engine.seed: expected an integer >= 0 or null, got \"-1\" (at t.yaml:2:9)");
  CHECK(error_of("engine:\n  device: gpu\n") ==
        "engine.device: unknown value 'gpu' (expected auto|cpu|cuda) (at t.yaml:2:11)");
  CHECK(error_of("engine:\n  on_step_error: crash\n") ==
        "engine.on_step_error: unknown value 'crash' (expected recover|exit) (at t.yaml:2:18)");
  CHECK(error_of("engine:\n  kv_dtype: [f32]\n") ==
        "engine.kv_dtype: expected one of auto|f32|bf16|f16, got a list (at t.yaml:2:13)");
  CHECK(error_of("logging:\n  level: verbose\n") ==
        "logging.level: unknown value 'verbose' (expected trace|debug|info|warn|error|off) "
        "(at t.yaml:2:10)");
  CHECK(error_of("logging:\n  format: xml\n") ==
        "logging.format: unknown value 'xml' (expected plain|json) (at t.yaml:2:11)");
  CHECK(error_of("tenants:\n  - name: a\n    priority: 1001\n") ==
        "tenants[0].priority: expected an integer in [-1000, 1000], got \"1001\" "
        "(at t.yaml:3:15)");
}

TEST_CASE("a kvpool.policy typo lists the accepted policies", "[config]") {
  CHECK(error_of("kvpool:\n  policy: trimkvv\n") ==
        "kvpool.policy: unknown value 'trimkvv' (expected auto|full|window|trimkv|trimkv-global) "
        "(at t.yaml:2:11)");
  for (const char* policy : {"auto", "full", "window", "trimkv", "trimkv-global"}) {
    CHECK(parsed(std::string("kvpool:\n  policy: ") + policy + "\n").kvpool.policy == policy);
  }
}

TEST_CASE("unknown and repeated keys are errors with their path", "[config]") {
  CHECK(error_of("server:\n  limits:\n    max_bodybytes: 1\n") ==
        "server.limits.max_bodybytes: unknown key (expected one of: max_body_bytes, "
        "max_header_bytes, read_timeout_s, idle_timeout_s, request_timeout_s, max_connections, "
        "max_queue, max_prompt_tokens) (at t.yaml:3:5)");
  CHECK(error_of("sever:\n  port: 1\n") ==
        "sever: unknown key (expected one of: server, model, engine, scheduler, kvpool, "
        "tenants, logging) (at t.yaml:1:1)");
  CHECK(error_of("tenants:\n  - name: a\n    api_keys: [k]\n    wieght: 2\n") ==
        "tenants[0].wieght: unknown key (expected one of: name, api_keys, api_keys_file, "
        "api_key_sha256, weight, priority, limits, allowed_models) (at t.yaml:4:5)");
  CHECK(error_of("server:\n  port: 1\n  port: 2\n") ==
        "server.port: duplicate key (first set at line 2) (at t.yaml:3:3)");
}

TEST_CASE("list elements appear in paths as name[i]", "[config]") {
  CHECK(error_of("tenants:\n"
                 "  - name: a\n"
                 "    api_keys: [k1]\n"
                 "  - name: b\n"
                 "    api_keys: [{x: 1}]\n") ==
        "tenants[1].api_keys[0]: expected a string, got a mapping (at t.yaml:5:16)");
  CHECK(error_of("tenants:\n  - name: a\n    api_keys: [k]\n  - just-a-name\n") ==
        "tenants[1]: expected a mapping, got \"just-a-name\" (at t.yaml:4:5)");
  CHECK(error_of("tenants:\n  name: a\n") ==
        "tenants: expected a list of tenants, got a mapping (at t.yaml:2:3)");
}

TEST_CASE("API key values never appear in messages", "[config]") {
  const std::string message = error_of("tenants:\n  - name: a\n    api_keys: sk-secret-1\n");
  CHECK(message ==
        "tenants[0].api_keys: expected a list of strings, got a string (at t.yaml:3:15)");
  CHECK(message.find("sk-secret") == std::string::npos);
}

TEST_CASE("validation errors carry the position of the key they name", "[config]") {
  CHECK(error_of("tenants:\n"
                 "  - name: a\n"
                 "    api_keys: [k1]\n"
                 "  - name: a\n"
                 "    api_keys: [k2]\n") ==
        "tenants[1].name: 'a' is already tenants[0].name (at t.yaml:4:11)");
  CHECK(error_of("tenants:\n"
                 "  - name: a\n"
                 "    api_keys: [k1]\n"
                 "  - name: b\n"
                 "    api_keys: [k2, k1]\n") ==
        "tenants[1].api_keys[1]: same key as tenants[0].api_keys[0] (at t.yaml:5:20)");
  CHECK(error_of("tenants:\n  - name: a\n") ==
        "tenants[0]: needs api_keys, api_keys_file or api_key_sha256 (no request could reach it) "
        "(at t.yaml:2:5)");
  // cert_file is not written: the position is that of the enclosing mapping.
  CHECK(error_of("server:\n  tls:\n    enabled: true\n") ==
        "server.tls.cert_file: required when server.tls.enabled is true (at t.yaml:3:5)");
  CHECK(error_of("server:\n  port: 9000\n  grpc_port: 9000\n") ==
        "server.grpc_port: 9000 is already server.port; HTTP and gRPC need different ports "
        "(at t.yaml:3:14)");
  CHECK(error_of("tenants:\n  - name: a\n    api_key_sha256: [abc]\n") ==
        "tenants[0].api_key_sha256[0]: expected 64 hex digits (the SHA-256 of the key), got 3 "
        "characters (at t.yaml:3:22)");
  CHECK(error_of("tenants:\n  - name: a\n    api_keys: [k]\n    limits: {kv_share: 0}\n") ==
        "tenants[0].limits.kv_share: must be in (0, 1], got 0 (at t.yaml:4:24)");
}

TEST_CASE("documents that are not a mapping of sections are rejected", "[config]") {
  CHECK(error_of("- a\n- b\n") ==
        "t.yaml: the top level must be a mapping of sections (server, model, engine, scheduler, "
        "kvpool, tenants, logging), got a list");
  CHECK(error_of("hello\n") ==
        "t.yaml: the top level must be a mapping of sections (server, model, engine, scheduler, "
        "kvpool, tenants, logging), got \"hello\"");
  CHECK(error_of("server: {}\n---\nmodel: {}\n") ==
        "t.yaml: expected one YAML document, found more than one");
  // tests/fuzz/config_fuzz found that yaml-cpp never finishes such a stream on its own.
  CHECK(error_of(",\n") ==
        "t.yaml: invalid YAML at line 1, column 1: unexpected character (not a YAML document)");
}

TEST_CASE("malformed YAML reports line and column", "[config]") {
  CHECK(error_of("server:\n  port: [1, 2\nmodel: {}\n") ==
        "t.yaml: invalid YAML at line 3, column 6: end of sequence flow not found");
  CHECK(error_of("server: port: 1\n") ==
        "t.yaml: invalid YAML at line 1, column 13: illegal map value");
  CHECK(error_of("server:\n\tport: 1\n").rfind("t.yaml: invalid YAML at line 2", 0) == 0);
  // Self-referencing aliases would recurse forever.
  CHECK(error_of("a: &x [*x]\n").rfind("t.yaml: invalid YAML", 0) == 0);
}
