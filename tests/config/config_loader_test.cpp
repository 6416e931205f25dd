#include "config/config_loader.h"
#include "tests/config/config_test_util.h"
#include "tests/support/temp_dir.h"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

using namespace trimserve;

using testing::error_of;
using testing::parsed;

TEST_CASE("an empty document gives the in-class defaults", "[config]") {
  CHECK(parsed("") == DaemonConfig{});
  CHECK(parsed("# only a comment\n\n") == DaemonConfig{});
  CHECK(parsed("---\n") == DaemonConfig{});
  CHECK(parsed("server:\nmodel: ~\nkvpool: {}\ntenants:\n") == DaemonConfig{});
}

TEST_CASE("the defaults are the documented ones", "[config]") {
  const DaemonConfig c;
  CHECK(c.server.host == "127.0.0.1");
  CHECK(c.server.port == 8080);
  CHECK(c.server.grpc_port == 50051);
  CHECK(c.server.drain_timeout_s == 30);
  CHECK(c.server.limits.max_body_bytes == 8 * 1024 * 1024);
  CHECK(c.server.limits.max_header_bytes == 16 * 1024);
  CHECK(c.server.limits.max_prompt_tokens == 0);
  CHECK_FALSE(c.server.tls.enabled);
  CHECK(c.model.path.empty());
  CHECK(c.model.max_model_len == 0);
  CHECK(c.engine.device == DaemonConfig::Engine::Device::kAuto);
  CHECK(c.engine.threads == 0);
  CHECK(c.engine.prefill_chunk == 512);
  CHECK(c.engine.kv_dtype == DaemonConfig::Engine::KvDtype::kAuto);
  CHECK_FALSE(c.engine.seed.has_value());
  CHECK(c.engine.on_step_error == DaemonConfig::Engine::OnStepError::kRecover);
  CHECK(c.engine.step_error_unready_s == 5.0);
  CHECK(c.scheduler.max_batched_tokens == 2048);
  CHECK(c.scheduler.max_running_seqs == 64);
  CHECK(c.kvpool.policy == "auto");
  CHECK(c.kvpool.budget == 0);
  CHECK(c.kvpool.buffer == 0);
  CHECK_FALSE(c.kvpool.floor_ratio.has_value());
  CHECK(c.kvpool.window_sinks == 4);
  CHECK(c.kvpool.page_size == 16);
  CHECK(c.kvpool.capacity.kind == DaemonConfig::KvPool::Capacity::Kind::kFraction);
  CHECK(c.kvpool.capacity.fraction == 0.9);
  CHECK(c.kvpool.sessions.dir.empty());
  CHECK(c.tenants.empty());
  CHECK(c.logging.level == LogLevel::kInfo);
  CHECK(c.logging.format == LogFormat::kPlain);
}

TEST_CASE("every key is read into its field", "[config]") {
  const DaemonConfig c = parsed(R"(
server:
  host: 0.0.0.0
  port: 0
  grpc_port: 0
  drain_timeout_s: 2m
  limits:
    max_body_bytes: 1MiB
    max_header_bytes: 4096
    read_timeout_s: 500ms
    idle_timeout_s: 5
    request_timeout_s: 1h
    max_connections: 10
    max_queue: 0
    max_prompt_tokens: 1000
  tls: {enabled: true, cert_file: c.pem, key_file: k.pem}
model:
  path: /models/qwen3
  served_name: qwen
  max_model_len: 4096
engine:
  device: cuda
  threads: 8
  prefill_chunk: 256
  kv_dtype: bf16
  seed: 42
  on_step_error: exit
  step_error_unready_s: 2s
scheduler:
  max_batched_tokens: 4096
  max_running_seqs: 8
  preemption: recompute
  fairness_quantum_tokens: 128
kvpool:
  policy: trimkv-global
  budget: 1024
  buffer: 128
  floor_ratio: 0.25
  window_sinks: 8
  page_size: 32
  capacity: 2GiB
  idle_decay_per_s: 0.5
  low_watermark: 0.1
  sessions: {max_per_tenant: 3, ttl_s: 90, max_idle_bytes: 1GiB, dir: /var/lib/ts}
tenants:
  - name: alice
    api_keys: [sk-a1, sk-a2]
    api_key_sha256: [E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855]
    weight: 2.5
    priority: -3
    limits:
      max_concurrent: 4
      requests_per_min: 60
      tokens_per_min: 10000
      kv_share: 0.5
      max_sessions: 7
      kv_budget_cap: 2048
    allowed_models: [qwen]
logging:
  level: debug
  format: json
)");
  CHECK(c.server.host == "0.0.0.0");
  CHECK(c.server.port == 0);
  CHECK(c.server.grpc_port == 0);
  CHECK(c.server.drain_timeout_s == 120);
  CHECK(c.server.limits.max_body_bytes == 1 << 20);
  CHECK(c.server.limits.max_header_bytes == 4096);
  CHECK(c.server.limits.read_timeout_s == Approx(0.5));
  CHECK(c.server.limits.idle_timeout_s == 5);
  CHECK(c.server.limits.request_timeout_s == 3600);
  CHECK(c.server.limits.max_connections == 10);
  CHECK(c.server.limits.max_queue == 0);
  CHECK(c.server.limits.max_prompt_tokens == 1000);
  CHECK(c.server.tls.enabled);
  CHECK(c.server.tls.cert_file == "c.pem");
  CHECK(c.server.tls.key_file == "k.pem");
  CHECK(c.model.path == "/models/qwen3");
  CHECK(c.model.served_name == "qwen");
  CHECK(c.model.max_model_len == 4096);
  CHECK(c.engine.device == DaemonConfig::Engine::Device::kCuda);
  CHECK(c.engine.threads == 8);
  CHECK(c.engine.prefill_chunk == 256);
  CHECK(c.engine.kv_dtype == DaemonConfig::Engine::KvDtype::kBf16);
  CHECK(c.engine.seed == uint64_t{42});
  CHECK(c.engine.on_step_error == DaemonConfig::Engine::OnStepError::kExit);
  CHECK(c.engine.step_error_unready_s == 2.0);
  CHECK(c.scheduler.max_batched_tokens == 4096);
  CHECK(c.scheduler.max_running_seqs == 8);
  CHECK(c.scheduler.fairness_quantum_tokens == 128);
  CHECK(c.kvpool.policy == "trimkv-global");
  CHECK(c.kvpool.budget == 1024);
  CHECK(c.kvpool.buffer == 128);
  CHECK(c.kvpool.floor_ratio == 0.25);
  CHECK(c.kvpool.window_sinks == 8);
  CHECK(c.kvpool.page_size == 32);
  CHECK(c.kvpool.capacity.kind == DaemonConfig::KvPool::Capacity::Kind::kBytes);
  CHECK(c.kvpool.capacity.bytes == int64_t{2} << 30);
  CHECK(c.kvpool.idle_decay_per_s == 0.5);
  CHECK(c.kvpool.low_watermark == 0.1);
  CHECK(c.kvpool.sessions.max_per_tenant == 3);
  CHECK(c.kvpool.sessions.ttl_s == 90);
  CHECK(c.kvpool.sessions.max_idle_bytes == int64_t{1} << 30);
  CHECK(c.kvpool.sessions.dir == "/var/lib/ts");
  REQUIRE(c.tenants.size() == 1);
  const DaemonConfig::Tenant& t = c.tenants[0];
  CHECK(t.name == "alice");
  CHECK(t.api_keys == std::vector<std::string>{"sk-a1", "sk-a2"});
  // Digests are lowercased so auth can compare them byte for byte.
  CHECK(t.api_key_sha256 ==
        std::vector<std::string>{
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"});
  CHECK(t.weight == 2.5);
  CHECK(t.priority == -3);
  CHECK(t.limits.max_concurrent == 4);
  CHECK(t.limits.requests_per_min == 60);
  CHECK(t.limits.tokens_per_min == 10000);
  CHECK(t.limits.kv_share == 0.5);
  CHECK(t.limits.max_sessions == 7);
  CHECK(t.limits.kv_budget_cap == 2048);
  CHECK(t.allowed_models == std::vector<std::string>{"qwen"});
  CHECK(c.logging.level == LogLevel::kDebug);
  CHECK(c.logging.format == LogFormat::kJson);
}

TEST_CASE("a null value keeps the default", "[config]") {
  const DaemonConfig c = parsed("server:\n  port:\n  host: ~\nengine:\n  seed: null\n");
  CHECK(c == DaemonConfig{});
}

TEST_CASE("kvpool.capacity takes a percentage, a byte size or {entries: N}", "[config]") {
  using Kind = DaemonConfig::KvPool::Capacity::Kind;
  DaemonConfig c = parsed("kvpool:\n  capacity: 50%\n");
  CHECK(c.kvpool.capacity.kind == Kind::kFraction);
  CHECK(c.kvpool.capacity.fraction == Approx(0.5));
  c = parsed("kvpool:\n  capacity: 512MiB\n");
  CHECK(c.kvpool.capacity.kind == Kind::kBytes);
  CHECK(c.kvpool.capacity.bytes == 512 << 20);
  c = parsed("kvpool:\n  capacity: {entries: 65536}\n");
  CHECK(c.kvpool.capacity.kind == Kind::kEntries);
  CHECK(c.kvpool.capacity.entries == 65536);

  CHECK(error_of("kvpool:\n  capacity: lots\n") ==
        "kvpool.capacity: expected a byte size (e.g. 2GiB), a percentage of free memory "
        "(e.g. 90%) or {entries: N}, got \"lots\" (at t.yaml:2:13)");
  CHECK(error_of("kvpool:\n  capacity: 0\n") ==
        "kvpool.capacity: expected a byte size (e.g. 2GiB), a percentage of free memory "
        "(e.g. 90%) or {entries: N}, got \"0\" (at t.yaml:2:13)");
  CHECK(error_of("kvpool:\n  capacity: 150%\n") ==
        "kvpool.capacity: expected a percentage in (0%, 100%], got \"150%\" (at t.yaml:2:13)");
  CHECK(error_of("kvpool:\n  capacity: {entries: 0}\n") ==
        "kvpool.capacity.entries: expected an integer >= 1, got \"0\" (at t.yaml:2:23)");
  CHECK(error_of("kvpool:\n  capacity: {bytes: 5}\n") ==
        "kvpool.capacity.bytes: unknown key (expected one of: entries) (at t.yaml:2:14)");
  CHECK(error_of("kvpool:\n  capacity: {}\n") ==
        "kvpool.capacity: the mapping form needs `entries: N` (at t.yaml:2:13)");
}

TEST_CASE("load_config reads a file and names it in errors", "[config]") {
  Result<DaemonConfig> missing = load_config("no/such/trimserve.yaml");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == ErrorCode::kNotFound);
  CHECK(missing.status().message() ==
        "config file 'no/such/trimserve.yaml': cannot open (No such file or directory)");

  const std::string path =
      (std::filesystem::temp_directory_path() /
       ("trimserve-loader-test-" + std::to_string(::getpid()) + ".yaml"))
          .string();
  {
    std::ofstream out(path);
    out << "server:\n  port: 8081\n  grpc_port: x\n";
  }
  Result<DaemonConfig> bad = load_config(path);
  std::remove(path.c_str());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() ==
        "server.grpc_port: expected an integer in [0, 65535], got \"x\" (at " + path + ":3:14)");

  Result<DaemonConfig> dir = load_config(std::filesystem::temp_directory_path().string());
  REQUIRE_FALSE(dir.ok());
  CHECK(dir.status().message() == "config file '" +
                                      std::filesystem::temp_directory_path().string() +
                                      "': is a directory");

  {
    std::ofstream out(path);
    out << std::string(5 << 20, '#');
  }
  Result<DaemonConfig> huge = load_config(path);
  std::remove(path.c_str());
  REQUIRE_FALSE(huge.ok());
  CHECK(huge.status().message() ==
        "config file '" + path + "': larger than 4 MiB, too large for a config file");

  Result<DaemonConfig> empty = load_config("/dev/null");  // not seekable-size: read in blocks
  REQUIRE(empty.ok());
  CHECK(*empty == DaemonConfig{});
}

TEST_CASE("a tenant's api_keys_file adds the keys of a file, one per line", "[config]") {
  testing::TempDir dir;
  const std::string keys = dir.write("team-a", "# rotated 2026-12\n  sk-file-1  \n\nsk-file-2\r\n");
  const DaemonConfig c = parsed("tenants:\n  - name: a\n    api_keys: [sk-inline]\n"
                                "    api_keys_file: " + keys + "\n");
  REQUIRE(c.tenants.size() == 1);
  CHECK(c.tenants[0].api_keys == std::vector<std::string>{"sk-inline", "sk-file-1", "sk-file-2"});
  CHECK(c.tenants[0].api_keys_from_file == 2);
  CHECK(c.tenants[0].api_keys_file == keys);
  // The file alone is enough for a tenant.
  CHECK(parsed("tenants:\n  - name: a\n    api_keys_file: " + keys + "\n").tenants[0].api_keys.size() == 2);

  CHECK(error_of("tenants:\n  - name: a\n    api_keys_file: " + dir.file("none") + "\n") ==
        "tenants[0].api_keys_file: cannot read '" + dir.file("none") +
            "': No such file or directory (at t.yaml:3:20)");
  const std::string empty = dir.write("empty", "# no keys yet\n\n");
  CHECK(error_of("tenants:\n  - name: a\n    api_keys_file: " + empty + "\n") ==
        "tenants[0].api_keys_file: '" + empty + "' holds no key (at t.yaml:3:20)");
  CHECK(error_of("tenants:\n  - name: a\n    api_keys_file: [x]\n") ==
        "tenants[0].api_keys_file: expected a file path, got a list (at t.yaml:3:20)");
  // A key repeated between the config and the file is named by its place, never its value.
  const std::string dup = dir.write("dup", "sk-other\nsk-inline\n");
  const std::string msg = error_of("tenants:\n  - name: a\n    api_keys: [sk-inline]\n"
                                   "    api_keys_file: " + dup + "\n");
  CHECK_THAT(msg, Catch::StartsWith("tenants[0].api_keys_file (key 2): same key as tenants[0].api_keys[0]"));
  CHECK(msg.find("sk-inline") == std::string::npos);
}
