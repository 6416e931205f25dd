#include "config/config_decode.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>

#include "config/units.h"

namespace trimserve {
namespace {

constexpr int64_t kNoMax = std::numeric_limits<int64_t>::max();
constexpr double kAnyNumber = std::numeric_limits<double>::max();

using Engine = DaemonConfig::Engine;

void decode_server(MapReader r, DaemonConfig::Server* s) {
  r.read_string("host", &s->host);
  r.read_int("port", &s->port, 0, 65535);
  r.read_int("grpc_port", &s->grpc_port, 0, 65535);
  r.read_duration_s("drain_timeout_s", &s->drain_timeout_s);

  MapReader limits = r.child("limits");
  auto& l = s->limits;
  limits.read_byte_size("max_body_bytes", &l.max_body_bytes, 1);
  limits.read_byte_size("max_header_bytes", &l.max_header_bytes, 1);
  limits.read_duration_s("read_timeout_s", &l.read_timeout_s);
  limits.read_duration_s("idle_timeout_s", &l.idle_timeout_s);
  limits.read_duration_s("request_timeout_s", &l.request_timeout_s);
  limits.read_int("max_connections", &l.max_connections, 1, kNoMax);
  limits.read_int("max_queue", &l.max_queue, 0, kNoMax);
  limits.read_int("max_prompt_tokens", &l.max_prompt_tokens, 0, kNoMax);
  limits.finish();

  MapReader tls = r.child("tls");
  tls.read_bool("enabled", &s->tls.enabled);
  tls.read_string("cert_file", &s->tls.cert_file);
  tls.read_string("key_file", &s->tls.key_file);
  tls.finish();
  r.finish();
}

void decode_model(MapReader r, DaemonConfig::Model* m) {
  r.read_string("path", &m->path);
  r.read_string("served_name", &m->served_name);
  r.read_int("max_model_len", &m->max_model_len, 0, kNoMax);
  r.finish();
}

void decode_engine(MapReader r, Engine* e) {
  using Device = Engine::Device;
  using KvDtype = Engine::KvDtype;
  r.read_choice("device", &e->device,
                {{engine_device_name(Device::kAuto), Device::kAuto},
                 {engine_device_name(Device::kCpu), Device::kCpu},
                 {engine_device_name(Device::kCuda), Device::kCuda}});
  r.read_int("threads", &e->threads, 0, 4096);
  r.read_int("prefill_chunk", &e->prefill_chunk, 1, kNoMax);
  r.read_choice("kv_dtype", &e->kv_dtype,
                {{kv_dtype_name(KvDtype::kAuto), KvDtype::kAuto},
                 {kv_dtype_name(KvDtype::kF32), KvDtype::kF32},
                 {kv_dtype_name(KvDtype::kBf16), KvDtype::kBf16},
                 {kv_dtype_name(KvDtype::kF16), KvDtype::kF16}});
  r.read_optional_uint("seed", &e->seed);
  r.read_choice("on_step_error", &e->on_step_error,
                {{"recover", Engine::OnStepError::kRecover}, {"exit", Engine::OnStepError::kExit}});
  r.read_duration_s("step_error_unready_s", &e->step_error_unready_s);
  r.finish();
}

void decode_scheduler(MapReader r, DaemonConfig::Scheduler* s) {
  r.read_int("max_batched_tokens", &s->max_batched_tokens, 1, kNoMax);
  r.read_int("max_running_seqs", &s->max_running_seqs, 1, kNoMax);
  r.read_choice("preemption", &s->preemption,
                {{"recompute", DaemonConfig::Scheduler::Preemption::kRecompute}});
  r.read_int("fairness_quantum_tokens", &s->fairness_quantum_tokens, 1, kNoMax);
  r.finish();
}

// kvpool.capacity: "90%" | "2GiB" | {entries: N}.
void decode_capacity(MapReader& r, DaemonConfig::KvPool::Capacity* c) {
  using Kind = DaemonConfig::KvPool::Capacity::Kind;
  const ConfigNode* node = r.find("capacity");
  if (!node) return;
  if (node->kind == ConfigNode::Kind::kMap) {
    MapReader m(node, join_key_path(r.path(), "capacity"), r.context());
    int64_t entries = 0;
    m.read_int("entries", &entries, 1, kNoMax);
    m.finish();
    if (r.context()->failed()) return;
    if (entries == 0) {
      r.fail("capacity", *node, "the mapping form needs `entries: N`");
      return;
    }
    *c = {};
    c->kind = Kind::kEntries;
    c->entries = entries;
    return;
  }
  if (node->kind == ConfigNode::Kind::kScalar) {
    if (std::optional<double> fraction = parse_percent(node->scalar)) {
      if (*fraction > 0 && *fraction <= 1) {
        *c = {};
        c->kind = Kind::kFraction;
        c->fraction = *fraction;
        return;
      }
      r.fail("capacity", *node,
             "expected a percentage in (0%, 100%], got " + node->describe());
      return;
    }
    if (std::optional<int64_t> bytes = parse_byte_size(node->scalar); bytes && *bytes > 0) {
      *c = {};
      c->kind = Kind::kBytes;
      c->bytes = *bytes;
      return;
    }
  }
  r.fail("capacity", *node,
         "expected a byte size (e.g. 2GiB), a percentage of free memory (e.g. 90%) or "
         "{entries: N}, got " + node->describe());
}

void decode_kvpool(MapReader r, DaemonConfig::KvPool* k) {
  if (const ConfigNode* policy = r.find("policy")) {
    Status known = policy->kind == ConfigNode::Kind::kScalar
                       ? check_kv_policy_setting(policy->scalar)
                       : invalid_argument("expected one of auto|full|window|trimkv|trimkv-global, "
                                          "got " + policy->describe());
    if (known.ok()) {
      k->policy = policy->scalar;
    } else {
      r.fail("policy", *policy, known.message());
    }
  }
  r.read_int("budget", &k->budget, 0, kNoMax);
  r.read_int("buffer", &k->buffer, 0, kNoMax);
  r.read_optional_number("floor_ratio", &k->floor_ratio, 0, 1, /*max_open=*/true);
  r.read_int("window_sinks", &k->window_sinks, 0, kNoMax);
  r.read_int("page_size", &k->page_size, 1, 4096);
  decode_capacity(r, &k->capacity);
  r.read_number("idle_decay_per_s", &k->idle_decay_per_s, 0, kAnyNumber);
  r.read_number("low_watermark", &k->low_watermark, 0, 1, /*max_open=*/true);

  MapReader sessions = r.child("sessions");
  auto& s = k->sessions;
  sessions.read_int("max_per_tenant", &s.max_per_tenant, 0, kNoMax);
  sessions.read_duration_s("ttl_s", &s.ttl_s);
  sessions.read_byte_size("max_idle_bytes", &s.max_idle_bytes);
  sessions.read_string("dir", &s.dir);
  sessions.finish();
  r.finish();
}

// Keys kept outside the config (so that a ConfigMap can hold the config and a Secret the keys):
// one key per line, surrounding blanks trimmed, empty lines and lines starting with '#'
// skipped. Messages name the file, never a key.
Status read_api_key_file(const std::string& path, std::vector<std::string>* keys) {
  std::ifstream in(path);
  if (!in) return invalid_argument("cannot read '" + path + "': " + std::strerror(errno));
  const size_t before = keys->size();
  std::string line;
  while (std::getline(in, line)) {
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    const size_t last = line.find_last_not_of(" \t\r");
    keys->push_back(line.substr(first, last - first + 1));
  }
  if (in.bad()) return invalid_argument("error reading '" + path + "'");
  if (keys->size() == before) return invalid_argument("'" + path + "' holds no key");
  return Status();
}

void decode_tenant(MapReader r, DaemonConfig::Tenant* t) {
  r.read_string("name", &t->name);
  r.read_string_list("api_keys", &t->api_keys, /*secret=*/true);
  if (const ConfigNode* file = r.find("api_keys_file")) {
    if (file->kind != ConfigNode::Kind::kScalar) {
      r.fail("api_keys_file", *file, "expected a file path, got " + file->describe());
    } else {
      t->api_keys_file = file->scalar;
      const size_t inline_keys = t->api_keys.size();
      const Status read = read_api_key_file(file->scalar, &t->api_keys);
      if (!read.ok()) r.fail("api_keys_file", *file, read.message());
      t->api_keys_from_file = t->api_keys.size() - inline_keys;
    }
  }
  r.read_string_list("api_key_sha256", &t->api_key_sha256);
  // Hex digests compare as lowercase from here on (auth compares them byte for byte).
  for (std::string& digest : t->api_key_sha256) {
    std::transform(digest.begin(), digest.end(), digest.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  }
  // weight and kv_share: any number here; validate() states their ranges.
  r.read_number("weight", &t->weight, -kAnyNumber, kAnyNumber);
  r.read_int("priority", &t->priority, -1000, 1000);

  MapReader limits = r.child("limits");
  auto& l = t->limits;
  limits.read_int("max_concurrent", &l.max_concurrent, 0, kNoMax);
  limits.read_int("requests_per_min", &l.requests_per_min, 0, kNoMax);
  limits.read_int("tokens_per_min", &l.tokens_per_min, 0, kNoMax);
  limits.read_number("kv_share", &l.kv_share, -kAnyNumber, kAnyNumber);
  limits.read_int("max_sessions", &l.max_sessions, 0, kNoMax);
  limits.read_int("kv_budget_cap", &l.kv_budget_cap, 0, kNoMax);
  limits.finish();

  r.read_string_list("allowed_models", &t->allowed_models);
  r.finish();
}

void decode_tenants(MapReader& root, std::vector<DaemonConfig::Tenant>* tenants) {
  const ConfigNode* node = root.find("tenants");
  if (!node) return;
  if (node->kind != ConfigNode::Kind::kList) {
    root.fail("tenants", *node, "expected a list of tenants, got " + node->describe());
    return;
  }
  tenants->clear();
  for (size_t i = 0; i < node->items.size(); ++i) {
    const ConfigNode& item = node->items[i];
    const std::string path = "tenants[" + std::to_string(i) + "]";
    if (item.kind != ConfigNode::Kind::kMap) {
      // A null element ("- " alone) is as wrong as a scalar: a tenant needs at least a name.
      root.context()->fail(path, item.mark, "expected a mapping, got " + item.describe());
      return;
    }
    root.context()->record(path, item.mark);
    DaemonConfig::Tenant tenant;
    decode_tenant(MapReader(&item, path, root.context()), &tenant);
    tenants->push_back(std::move(tenant));
  }
}

void decode_logging(MapReader r, DaemonConfig::Logging* l) {
  // Names come from common/logging.h, so the config and --log-level flags agree.
  const auto level = [](LogLevel v) {
    return std::pair<std::string_view, LogLevel>(log_level_name(v), v);
  };
  r.read_choice("level", &l->level,
                {level(LogLevel::kTrace), level(LogLevel::kDebug), level(LogLevel::kInfo),
                 level(LogLevel::kWarn), level(LogLevel::kError), level(LogLevel::kOff)});
  const auto format = [](LogFormat v) {
    return std::pair<std::string_view, LogFormat>(log_format_name(v), v);
  };
  r.read_choice("format", &l->format, {format(LogFormat::kPlain), format(LogFormat::kJson)});
  r.finish();
}

}  // namespace

Result<DaemonConfig> decode_config(const ConfigNode& root, DecodeContext* ctx) {
  DaemonConfig config;
  if (root.kind != ConfigNode::Kind::kNull && root.kind != ConfigNode::Kind::kMap) {
    ctx->fail("", ConfigMark{},
              "the top level must be a mapping of sections (server, model, engine, scheduler, "
              "kvpool, tenants, logging), got " + root.describe());
    return ctx->status();
  }
  MapReader r(&root, "", ctx);
  decode_server(r.child("server"), &config.server);
  decode_model(r.child("model"), &config.model);
  decode_engine(r.child("engine"), &config.engine);
  decode_scheduler(r.child("scheduler"), &config.scheduler);
  decode_kvpool(r.child("kvpool"), &config.kvpool);
  decode_tenants(r, &config.tenants);
  decode_logging(r.child("logging"), &config.logging);
  r.finish();
  if (ctx->failed()) return ctx->status();
  return config;
}

}  // namespace trimserve
