#include "server/api/generation_admission.h"

#include <cstdint>

namespace trimserve::api {

std::optional<ApiError> check_model(const ServingContext& ctx, const std::string& model,
                                    const TenantPolicy& tenant) {
  if (model != ctx.served_model) {
    return not_found_error("The model '" + model + "' does not exist", "model", "model_not_found");
  }
  return ctx.tenants->check_model(tenant, model);
}

std::variant<std::vector<int32_t>, ApiError> chat_prompt(const ServingContext& ctx,
                                                         const nlohmann::ordered_json& messages,
                                                         const ChatRenderOptions& options) {
  if (ctx.chat_template == nullptr) {
    return unprocessable(
        "this model has no chat template: send a raw prompt (/v1/completions, gRPC Generate)",
        "messages");
  }
  auto text = ctx.chat_template->render(messages, options);
  if (!text.ok()) return bad_request(text.status().message(), "messages");
  return ctx.tokenizer->encode(*text, /*parse_special=*/true);
}

std::optional<ApiError> draining_error(const ServingContext& ctx) {
  if (!ctx.accepting || ctx.accepting()) return std::nullopt;
  ApiError e = from_status(
      Status(ErrorCode::kUnavailable, "the server is shutting down; retry on another replica"));
  e.retry_after_s = 1.0;
  return e;
}

std::variant<Admission, ApiError> admit_generation(const ServingContext& ctx,
                                                   std::vector<int32_t> prompt,
                                                   GenerationFields& gen, const char* prompt_param,
                                                   const TenantPolicy& tenant,
                                                   std::chrono::steady_clock::time_point started) {
  const auto prompt_len = static_cast<int64_t>(prompt.size());
  if (prompt.empty()) return unprocessable("the prompt is empty", prompt_param);
  const int64_t room = ctx.max_model_len - prompt_len;
  const int64_t asked = gen.max_tokens_given ? gen.sampling.max_tokens : 0;
  if (room < 1 || asked > room) {
    // Saturated: max_tokens may be anything up to INT64_MAX.
    const int64_t requested = asked > INT64_MAX - prompt_len ? INT64_MAX : prompt_len + asked;
    return from_status(
        out_of_range("This model's maximum context length is " +
                     std::to_string(ctx.max_model_len) + " tokens. However, you requested " +
                     std::to_string(requested) + " tokens (" + std::to_string(prompt_len) +
                     " in the prompt, " + std::to_string(asked) + " in the completion)."),
        prompt_param);
  }
  if (ctx.max_prompt_tokens > 0 && prompt_len > ctx.max_prompt_tokens) {
    return from_status(out_of_range("the prompt has " + std::to_string(prompt_len) +
                                    " tokens, more than this server's limit of " +
                                    std::to_string(ctx.max_prompt_tokens)),
                       prompt_param);
  }
  if (ctx.max_queue > 0 && ctx.loop->queued() >= ctx.max_queue) {
    ApiError e = from_status(Status(ErrorCode::kUnavailable,
                                    "the server is overloaded: " + std::to_string(ctx.max_queue) +
                                        " requests are already waiting; retry shortly"));
    e.retry_after_s = 1.0;
    e.kind = ErrorCode::kResourceExhausted;  // the server is up, its queue is full
    return e;
  }
  if (!gen.max_tokens_given) gen.sampling.max_tokens = room;
  auto kv = resolve_request_kv(ctx.default_kv, gen.kv, tenant.kv_budget_cap, *ctx.model);
  if (!kv.ok()) {
    // Every message names its field first ("kv_policy ...", "kv_budget ...").
    const std::string& m = kv.status().message();
    return unprocessable(m, m.rfind("kv_policy", 0) == 0 ? "kv_policy" : "kv_budget");
  }
  const int64_t charged = prompt_len + gen.sampling.max_tokens;
  if (auto limited = ctx.tenants->admit(tenant, charged)) return *limited;

  GenerationRequest g;
  g.tenant = tenant.name;
  g.prompt = std::move(prompt);
  g.sampling = gen.sampling;
  g.kv = *kv;
  g.session_id = gen.session_id;
  if (ctx.request_timeout_s > 0) {
    g.deadline = started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double>(ctx.request_timeout_s));
  }
  Admission a;
  a.stream = ctx.loop->submit(std::move(g));
  a.prompt_tokens = prompt_len;
  // tokens_per_min charged prompt + max_tokens; what was not generated goes back.
  a.observer = [tenants = ctx.tenants, policy = &tenant, charged, prompt_len,
                outer = ctx.observer](const CallRecord& r) {
    tenants->refund(*policy, charged - prompt_len - r.tokens_streamed);
    if (outer) outer(r);
  };
  return a;
}

}  // namespace trimserve::api
