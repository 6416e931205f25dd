#include "server/api/tenants.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <variant>

#include "common/check.h"

namespace trimserve::api {

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  TS_CHECK(EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) == 1);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

Tenants::Tenants(const std::vector<DaemonConfig::Tenant>& config, const Clock& clock)
    : clock_(clock) {
  if (config.empty()) {
    open_ = true;
    auto t = std::make_unique<TenantPolicy>();
    t->name = "default";
    tenants_.push_back(std::move(t));
    return;
  }
  for (const DaemonConfig::Tenant& c : config) {
    auto t = std::make_unique<TenantPolicy>();
    t->name = c.name;
    t->allowed_models = c.allowed_models;
    t->kv_budget_cap = c.limits.kv_budget_cap;
    t->requests_per_min = c.limits.requests_per_min;
    t->tokens_per_min = c.limits.tokens_per_min;
    for (const std::string& key : c.api_keys) digests_.emplace_back(sha256_hex(key), t.get());
    for (const std::string& digest : c.api_key_sha256) digests_.emplace_back(digest, t.get());
    tenants_.push_back(std::move(t));
  }
}

std::variant<const TenantPolicy*, ApiError> Tenants::authenticate(
    std::string_view authorization) const {
  if (open_) return tenants_.front().get();
  ApiError e;
  e.status = 401;
  e.type = "invalid_request_error";
  e.code = "invalid_api_key";
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.empty()) {
    e.message = "You didn't provide an API key: send it as 'Authorization: Bearer <key>'.";
    return e;
  }
  if (authorization.size() <= kBearer.size() ||
      !std::equal(kBearer.begin(), kBearer.end(), authorization.begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    e.message = "The Authorization header must be 'Bearer <key>'.";
    return e;
  }
  const std::string digest = sha256_hex(authorization.substr(kBearer.size()));
  const TenantPolicy* match = nullptr;
  for (const auto& [known, tenant] : digests_) {  // all of them, whatever matched
    const bool same = known.size() == digest.size() &&
                      CRYPTO_memcmp(known.data(), digest.data(), digest.size()) == 0;
    if (same) match = tenant;
  }
  if (match == nullptr) {
    e.message = "Incorrect API key provided.";  // never echo the key
    return e;
  }
  return match;
}

std::optional<ApiError> Tenants::check_model(const TenantPolicy& tenant,
                                             const std::string& model) const {
  const auto& allowed = tenant.allowed_models;
  if (allowed.empty() || std::find(allowed.begin(), allowed.end(), model) != allowed.end()) {
    return std::nullopt;
  }
  ApiError e;
  e.status = 403;
  e.type = "permission_denied";
  e.message = "tenant '" + tenant.name + "' may not use model '" + model + "'";
  e.param = "model";
  e.code = "model_not_allowed";
  return e;
}

std::optional<ApiError> Tenants::admit(const TenantPolicy& tenant, int64_t tokens) {
  if (tenant.requests_per_min <= 0 && tenant.tokens_per_min <= 0) return std::nullopt;
  std::lock_guard lock(mu_);
  const double now = clock_.now_s();
  auto [it, fresh] = buckets_.try_emplace(tenant.name);
  Bucket& b = it->second;
  const auto rpm = static_cast<double>(tenant.requests_per_min);
  const auto tpm = static_cast<double>(tenant.tokens_per_min);
  if (fresh) {
    b.requests = rpm;
    b.tokens = tpm;
  } else {
    const double minutes = (now - b.updated_s) / 60.0;
    b.requests = std::min(rpm, b.requests + minutes * rpm);
    b.tokens = std::min(tpm, b.tokens + minutes * tpm);
  }
  b.updated_s = now;
  double wait_s = 0;
  std::string what;
  if (rpm > 0 && b.requests < 1.0) {
    wait_s = std::max(wait_s, (1.0 - b.requests) / rpm * 60.0);
    what = "requests per minute (" + std::to_string(tenant.requests_per_min) + ")";
  }
  const auto cost = static_cast<double>(tokens);
  if (tpm > 0 && b.tokens < cost) {
    if (cost > tpm) {
      ApiError e = unprocessable("the request needs " + std::to_string(tokens) +
                                 " tokens, more than tenant '" + tenant.name + "' may use per "
                                 "minute (" + std::to_string(tenant.tokens_per_min) + ")");
      return e;
    }
    wait_s = std::max(wait_s, (cost - b.tokens) / tpm * 60.0);
    what += (what.empty() ? "" : " and ") + std::string("tokens per minute (") +
            std::to_string(tenant.tokens_per_min) + ")";
  }
  if (!what.empty()) {
    ApiError e;
    e.status = 429;
    e.type = "rate_limit_error";
    e.code = "rate_limit_exceeded";
    e.message = "tenant '" + tenant.name + "' is over its " + what + "; retry in " +
                std::to_string(static_cast<int64_t>(std::ceil(wait_s))) + " s";
    e.retry_after_s = std::ceil(wait_s);
    return e;
  }
  if (rpm > 0) b.requests -= 1.0;
  if (tpm > 0) b.tokens -= cost;
  return std::nullopt;
}

void Tenants::refund(const TenantPolicy& tenant, int64_t tokens) {
  if (tenant.tokens_per_min <= 0 || tokens <= 0) return;
  std::lock_guard lock(mu_);
  auto it = buckets_.find(tenant.name);
  if (it == buckets_.end()) return;
  it->second.tokens = std::min(static_cast<double>(tenant.tokens_per_min),
                               it->second.tokens + static_cast<double>(tokens));
}

}  // namespace trimserve::api
