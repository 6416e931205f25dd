// Tenants as the API sees them (DESIGN.md §6 "Auth"): bearer keys -> tenant, each tenant's
// allowed models, KV budget cap and request/token rate limits.
//
// Keys are kept only as SHA-256 digests (config may give plain keys or digests); a request's
// key is hashed and compared with every configured digest in constant time (CRYPTO_memcmp,
// no early exit), so neither the comparison nor which tenant's key matched shows in the
// response time. No plain key stays in memory and none is ever logged. No tenants configured
// = one open tenant "default" (no key needed).
//
// Rate limits are token buckets refilled continuously: requests_per_min and tokens_per_min.
// A request is charged prompt + max_tokens at admission, since that is what it may use; when
// it ends, what it did not generate is refunded, so tokens_per_min counts prompt + generated
// tokens. A request over a limit is refused with the seconds after which it would pass
// (429 + Retry-After).
//
// Threading: authenticate() is const and lock-free; admit() locks one mutex per tenant. HTTP
// I/O threads call both.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/daemon_config.h"
#include "kvpool/clock.h"
#include "server/api/api_error.h"

namespace trimserve::api {

// Lowercase hex SHA-256 (OpenSSL).
std::string sha256_hex(std::string_view data);

struct TenantPolicy {
  std::string name;
  std::vector<std::string> allowed_models;  // empty = all
  int64_t kv_budget_cap = 0;                // entries per lane; 0 = none
  int64_t requests_per_min = 0;             // 0 = unlimited
  int64_t tokens_per_min = 0;               // 0 = unlimited
};

class Tenants {
 public:
  Tenants(const std::vector<DaemonConfig::Tenant>& config, const Clock& clock);

  // The tenant of an `Authorization` header value ("Bearer <key>"). 401 (OpenAI's
  // invalid_api_key) when keys are configured and the header is missing, malformed or unknown.
  std::variant<const TenantPolicy*, ApiError> authenticate(std::string_view authorization) const;

  // 403 when the tenant may not use `model`.
  std::optional<ApiError> check_model(const TenantPolicy& tenant, const std::string& model) const;

  // Charges one request and `tokens` against the tenant's per-minute limits; 429 with
  // retry_after_s when either would go negative (nothing is charged then).
  std::optional<ApiError> admit(const TenantPolicy& tenant, int64_t tokens);

  // Gives back `tokens` an admitted request was charged for and did not use (its bucket never
  // grows past one minute's worth).
  void refund(const TenantPolicy& tenant, int64_t tokens);

 private:
  struct Bucket {
    double requests = 0, tokens = 0;
    double updated_s = 0;
  };
  bool open_ = false;  // no tenants configured
  std::vector<std::unique_ptr<TenantPolicy>> tenants_;
  std::vector<std::pair<std::string, const TenantPolicy*>> digests_;  // hex SHA-256, tenant
  const Clock& clock_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace trimserve::api
