// DaemonConfig: everything the daemon reads from its one YAML file (DESIGN.md §6), as plain
// structs whose in-class initializers ARE the defaults (an empty file yields exactly
// `DaemonConfig{}`). deploy/trimserve.example.yaml documents every field below; keep the two
// in step.
//
// The section structs are nested in DaemonConfig so their short names (Server, Engine,
// Tenant, ...) cannot collide with the runtime types of other folders (trimserve::Engine,
// the scheduler's own tenant types).
//
// Conventions: "0 = <something>" marks a value the daemon resolves at startup (from the model,
// the machine, or another key); sizes in bytes are int64_t; durations are seconds as double.
// operator== compares every field exactly (tests, and detecting a changed config).
// A DaemonConfig produced by load_config()/parse_config() has passed validate(); code that
// edits one afterwards (command-line overrides) must call validate() again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/logging.h"
#include "common/status.h"

namespace trimserve {

struct DaemonConfig {
  struct Server {
    struct Limits {
      int64_t max_body_bytes = 8 << 20;      // request bodies larger than this get 413
      int64_t max_header_bytes = 16 << 10;   // total size of one request's headers
      double read_timeout_s = 30;            // receiving one whole request
      double idle_timeout_s = 60;            // keep-alive connection with no request
      double request_timeout_s = 0;          // arrival to last token; 0 = no deadline
      int64_t max_connections = 1024;        // open HTTP connections; more are refused
      int64_t max_queue = 256;               // requests waiting for admission; more get 503
      int64_t max_prompt_tokens = 0;         // 0 = the model context (model.max_model_len)

      bool operator==(const Limits&) const = default;
    };
    struct Tls {
      bool enabled = false;
      std::string cert_file;  // PEM chain; required when enabled
      std::string key_file;   // PEM private key; required when enabled

      bool operator==(const Tls&) const = default;
    };

    std::string host = "127.0.0.1";
    int port = 8080;         // HTTP; 0 = pick a free port (logged once listening)
    int grpc_port = 50051;   // gRPC; 0 = pick a free port
    double drain_timeout_s = 30;  // on SIGTERM: finish running requests for this long
    Limits limits;
    Tls tls;

    bool operator==(const Server&) const = default;
  };

  struct Model {
    std::string path;           // model directory; "" = the embedded default model
    std::string served_name;    // name in /v1/models and the `model` field; "" = dir name
    int64_t max_model_len = 0;  // tokens; 0 = the model's max_position_embeddings

    bool operator==(const Model&) const = default;
  };

  struct Engine {
    enum class Device { kAuto, kCpu, kCuda };  // auto = cuda when a GPU is usable, else cpu
    enum class KvDtype { kAuto, kF32, kBf16, kF16 };  // auto = f32 on cpu, bf16 on cuda
    // A failed engine step always fails the requests in it. Then: kRecover keeps serving
    // (GET /ready false for step_error_unready_s); kExit drains and exits non-zero, so a
    // supervisor restarts the daemon on a fresh device.
    enum class OnStepError { kRecover, kExit };

    Device device = Device::kAuto;
    int threads = 0;             // CPU worker threads; 0 = all cores
    int64_t prefill_chunk = 512; // tokens of one prompt processed per step
    KvDtype kv_dtype = KvDtype::kAuto;
    std::optional<uint64_t> seed;  // sampling seed for requests without one; unset = random
    OnStepError on_step_error = OnStepError::kRecover;
    double step_error_unready_s = 5.0;  // seconds /ready stays false after a failed step

    bool operator==(const Engine&) const = default;
  };

  struct Scheduler {
    enum class Preemption { kRecompute };  // evicted sequences re-prefill later

    int64_t max_batched_tokens = 2048;      // tokens per engine step (decode + prefill)
    int64_t max_running_seqs = 64;          // sequences in the running batch
    Preemption preemption = Preemption::kRecompute;
    int64_t fairness_quantum_tokens = 512;  // deficit round robin quantum per unit of weight

    bool operator==(const Scheduler&) const = default;
  };

  struct KvPool {
    // How big the pool of KV pages is. Exactly one form applies, chosen by `kind`.
    struct Capacity {
      enum class Kind {
        kFraction,  // of the memory free after the weights load (device memory on cuda,
                    // MemAvailable on cpu)
        kBytes,
        kEntries,   // cached (k, v) entries of one kv-head, summed over all lanes
      };
      Kind kind = Kind::kFraction;
      double fraction = 0.9;  // (0, 1]
      int64_t bytes = 0;
      int64_t entries = 0;

      bool operator==(const Capacity&) const = default;
    };
    struct Sessions {
      int64_t max_per_tenant = 256;  // resident sessions per tenant; 0 = unlimited
      double ttl_s = 1800;           // idle sessions older than this are dropped
      int64_t max_idle_bytes = 0;    // KV held by idle sessions; 0 = bounded only by the pool
      std::string dir;               // persist idle sessions here; "" = memory only

      bool operator==(const Sessions&) const = default;
    };

    // "auto" | "full" | "window" | "trimkv" | "trimkv-global". auto = trimkv-global when the
    // model has retention gates, else full. Kept as text so the daemon maps the concrete
    // names with kvpool's parse_kv_policy(); config/ stays a leaf (it does not link kvpool).
    std::string policy = "auto";
    int64_t budget = 0;        // M, entries per lane; 0 = the model's memory_size
    int64_t buffer = 0;        // compress at M + buffer entries; 0 = the model's buffer_size
    std::optional<double> floor_ratio;  // trimkv-global lane floor in [0, 1); unset = model's
    int64_t window_sinks = 4;  // window: leading entries never evicted
    int64_t page_size = 16;    // B, entries per page
    Capacity capacity;
    double idle_decay_per_s = 0.01;  // idle sessions lose this much log-score per second
    double low_watermark = 0.05;     // free-page fraction below which idle KV is reclaimed
    Sessions sessions;

    bool operator==(const KvPool&) const = default;
  };

  struct Tenant {
    struct Limits {
      int64_t max_concurrent = 0;     // requests running at once; 0 = unlimited
      int64_t requests_per_min = 0;   // 0 = unlimited
      int64_t tokens_per_min = 0;     // prompt + generated; 0 = unlimited
      double kv_share = 1.0;          // most of the KV pool this tenant may hold, (0, 1]
      int64_t max_sessions = 0;       // 0 = kvpool.sessions.max_per_tenant
      int64_t kv_budget_cap = 0;      // largest per-request kv_budget (entries per lane);
                                      // 0 = no cap beyond the pool's

      bool operator==(const Limits&) const = default;
    };

    std::string name;
    std::vector<std::string> api_keys;        // plain bearer tokens: those written in the
                                              // config first, then api_keys_file's
    std::string api_keys_file;                // file of more keys, one per line ("" = none):
                                              // a mounted Kubernetes Secret, say
    size_t api_keys_from_file = 0;            // how many of api_keys (the last ones) came
                                              // from api_keys_file
    std::vector<std::string> api_key_sha256;  // hex SHA-256 of keys; the loader lowercases
    double weight = 1.0;    // share of scheduler throughput relative to other tenants; > 0
    int priority = 0;       // higher is admitted first when resources are short
    Limits limits;
    std::vector<std::string> allowed_models;  // served names; empty = all

    bool operator==(const Tenant&) const = default;
  };

  struct Logging {
    LogLevel level = LogLevel::kInfo;
    LogFormat format = LogFormat::kPlain;

    bool operator==(const Logging&) const = default;
  };

  Server server;
  Model model;
  Engine engine;
  Scheduler scheduler;
  KvPool kvpool;
  std::vector<Tenant> tenants;  // empty = one open tenant "default", no API keys
  Logging logging;

  bool operator==(const DaemonConfig&) const = default;
};

// Whether `text` is a kvpool.policy value. Error text:
//   "unknown value 'trimkvv' (expected auto|full|window|trimkv|trimkv-global)".
Status check_kv_policy_setting(std::string_view text);

const char* engine_device_name(DaemonConfig::Engine::Device device);  // "auto" | "cpu" | "cuda"
const char* kv_dtype_name(DaemonConfig::Engine::KvDtype dtype);  // "auto" | "f32" | "bf16" | "f16"

}  // namespace trimserve
