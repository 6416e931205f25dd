#include "config/validate.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>

#include "config/units.h"

namespace trimserve {
namespace {

Status error_at(const std::string& path, const std::string& message) {
  return invalid_argument(path + ": " + message);
}

std::string index_path(const std::string& parent, size_t i) {
  return parent + "[" + std::to_string(i) + "]";
}

Status validate_server(const DaemonConfig& c) {
  const auto& s = c.server;
  if (s.host.empty()) return error_at("server.host", "must not be empty");
  for (const auto& [path, port] : {std::pair{"server.port", s.port},
                                   std::pair{"server.grpc_port", s.grpc_port}}) {
    if (port < 0 || port > 65535) {
      return error_at(path, "expected an integer in [0, 65535], got " + std::to_string(port));
    }
  }
  // Port 0 asks the kernel for a free port, so two zeros never collide.
  if (s.port != 0 && s.grpc_port == s.port) {
    return error_at("server.grpc_port", std::to_string(s.port) +
                                            " is already server.port; HTTP and gRPC need "
                                            "different ports");
  }
  if (s.tls.enabled && s.tls.cert_file.empty()) {
    return error_at("server.tls.cert_file", "required when server.tls.enabled is true");
  }
  if (s.tls.enabled && s.tls.key_file.empty()) {
    return error_at("server.tls.key_file", "required when server.tls.enabled is true");
  }
  const int64_t max_len = c.model.max_model_len;
  if (max_len > 0 && s.limits.max_prompt_tokens > max_len) {
    return error_at("server.limits.max_prompt_tokens",
                    std::to_string(s.limits.max_prompt_tokens) + " exceeds model.max_model_len (" +
                        std::to_string(max_len) + ")");
  }
  return Status();
}

Status validate_engine_and_scheduler(const DaemonConfig& c) {
  // Admission plans at most one chunk of a prompt per step; a chunk larger than a step
  // could never be scheduled.
  if (c.engine.prefill_chunk > c.scheduler.max_batched_tokens) {
    return error_at("engine.prefill_chunk",
                    std::to_string(c.engine.prefill_chunk) +
                        " exceeds scheduler.max_batched_tokens (" +
                        std::to_string(c.scheduler.max_batched_tokens) + ")");
  }
  return Status();
}

Status validate_kvpool(const DaemonConfig& c) {
  const auto& k = c.kvpool;
  TS_RETURN_IF_ERROR(check_kv_policy_setting(k.policy).with_context("kvpool.policy"));
  if (k.policy == "window" && k.budget > 0 && k.window_sinks >= k.budget) {
    return error_at("kvpool.window_sinks",
                    std::to_string(k.window_sinks) +
                        " leaves no room for recent entries within kvpool.budget (" +
                        std::to_string(k.budget) + ")");
  }
  using Kind = DaemonConfig::KvPool::Capacity::Kind;
  if (k.capacity.kind == Kind::kBytes && k.sessions.max_idle_bytes > k.capacity.bytes) {
    return error_at("kvpool.sessions.max_idle_bytes",
                    format_byte_size(k.sessions.max_idle_bytes) + " exceeds kvpool.capacity (" +
                        format_byte_size(k.capacity.bytes) + ")");
  }
  return Status();
}

// Tenant names end up in metric labels, session keys and file names.
bool valid_tenant_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (unsigned char ch : name) {
    if (!std::isalnum(ch) && ch != '.' && ch != '_' && ch != '-') return false;
  }
  return true;
}

Status validate_sha256(const std::string& path, const std::string& digest) {
  const std::string expected = "expected 64 hex digits (the SHA-256 of the key), got ";
  if (digest.size() != 64) return error_at(path, expected + std::to_string(digest.size()) +
                                                     " characters");
  for (unsigned char ch : digest) {
    if (!std::isxdigit(ch)) {
      return error_at(path, expected + "the non-hex character '" + std::string(1, ch) + "'");
    }
  }
  return Status();
}

Status validate_tenants(const DaemonConfig& c) {
  std::map<std::string, std::string> names;   // name -> path of its first use
  std::map<std::string, std::string> keys;    // key -> path of its first use
  std::map<std::string, std::string> hashes;  // lowercase digest -> path of its first use
  for (size_t i = 0; i < c.tenants.size(); ++i) {
    const DaemonConfig::Tenant& t = c.tenants[i];
    const std::string path = index_path("tenants", i);
    if (!valid_tenant_name(t.name)) {
      return error_at(path + ".name",
                      t.name.empty() ? "required"
                                     : "must be 1 to 64 of the characters A-Z a-z 0-9 . _ -, "
                                       "got '" + t.name + "'");
    }
    if (auto [it, inserted] = names.emplace(t.name, path + ".name"); !inserted) {
      return error_at(path + ".name", "'" + t.name + "' is already " + it->second);
    }
    if (t.api_keys.empty() && t.api_key_sha256.empty()) {
      return error_at(path, "needs api_keys, api_keys_file or api_key_sha256 (no request could "
                            "reach it)");
    }
    // Keys from api_keys_file are named by their place in the file's keys, never by value.
    const size_t inline_keys = t.api_keys.size() - t.api_keys_from_file;
    for (size_t j = 0; j < t.api_keys.size(); ++j) {
      const std::string key_path =
          j < inline_keys
              ? index_path(path + ".api_keys", j)
              : path + ".api_keys_file (key " + std::to_string(j - inline_keys + 1) + ")";
      const std::string& key = t.api_keys[j];
      if (key.empty()) return error_at(key_path, "must not be empty");
      for (unsigned char ch : key) {
        // A bearer token is one header token: spaces or control characters cannot arrive.
        if (ch <= 0x20 || ch == 0x7f) {
          return error_at(key_path, "must not contain spaces or control characters");
        }
      }
      if (auto [it, inserted] = keys.emplace(key, key_path); !inserted) {
        return error_at(key_path, "same key as " + it->second);
      }
    }
    for (size_t j = 0; j < t.api_key_sha256.size(); ++j) {
      const std::string key_path = index_path(path + ".api_key_sha256", j);
      TS_RETURN_IF_ERROR(validate_sha256(key_path, t.api_key_sha256[j]));
      std::string lower = t.api_key_sha256[j];
      for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (auto [it, inserted] = hashes.emplace(lower, key_path); !inserted) {
        return error_at(key_path, "same digest as " + it->second);
      }
    }
    if (!(t.weight > 0) || !std::isfinite(t.weight)) {
      return error_at(path + ".weight", "must be a number > 0, got " + format_number(t.weight));
    }
    const double share = t.limits.kv_share;
    if (!(share > 0 && share <= 1)) {
      return error_at(path + ".limits.kv_share", "must be in (0, 1], got " + format_number(share));
    }
    for (size_t j = 0; j < t.allowed_models.size(); ++j) {
      if (t.allowed_models[j].empty()) {
        return error_at(index_path(path + ".allowed_models", j), "must not be empty");
      }
    }
  }
  return Status();
}

}  // namespace

Status validate(const DaemonConfig& config) {
  TS_RETURN_IF_ERROR(validate_server(config));
  TS_RETURN_IF_ERROR(validate_engine_and_scheduler(config));
  TS_RETURN_IF_ERROR(validate_kvpool(config));
  TS_RETURN_IF_ERROR(validate_tenants(config));
  return Status();
}

}  // namespace trimserve
