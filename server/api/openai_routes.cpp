#include "server/api/openai_routes.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "scheduler/kv_settings.h"
#include "server/api/api_error.h"
#include "server/api/generation_call.h"
#include "server/api/chat_request.h"
#include "server/api/completion_request.h"
#include "server/api/daemon_metrics.h"
#include "server/metrics/text_format.h"

namespace trimserve::api {


OpenAiRoutes::OpenAiRoutes(ServingContext context) : ctx_(std::move(context)) {}

void OpenAiRoutes::handle(http::HttpRequest request, std::shared_ptr<http::ResponseWriter> writer) {
  const std::string& path = request.path;
  const std::string& method = request.method;
  if (path == "/metrics" && method == "GET" && ctx_.metrics != nullptr) {
    return writer->send(200, std::string(metrics::kTextContentType), ctx_.metrics->scrape());
  }
  if (path.rfind("/v1/", 0) == 0) {
    auto tenant = ctx_.tenants->authenticate(request.header("authorization"));
    if (auto* e = std::get_if<ApiError>(&tenant)) return reject(*writer, "unknown", *e);
    const TenantPolicy& t = *std::get<const TenantPolicy*>(tenant);
    if (path == "/v1/chat/completions" && method == "POST") {
      return chat_completions(request, t, writer);
    }
    if (path == "/v1/completions" && method == "POST") return completions(request, t, writer);
    if (path == "/v1/models" && method == "GET") return models(writer);
    if (path.rfind("/v1/sessions/", 0) == 0 && (method == "GET" || method == "DELETE")) {
      return session(request, t, writer);
    }
  }
  if (path == "/tokenize" || path == "/detokenize") {
    auto tenant = ctx_.tenants->authenticate(request.header("authorization"));
    if (auto* e = std::get_if<ApiError>(&tenant)) return send_error(*writer, *e);
    if (method == "POST") return path == "/tokenize" ? tokenize(request, writer) : detokenize(request, writer);
  }
  if (path == "/health" && method == "GET") return writer->send(200, "application/json", "{}");
  if (path == "/ready" && method == "GET") {
    const bool ready = !ctx_.ready || ctx_.ready();
    return writer->send(ready ? 200 : 503, "application/json",
                        ready ? "{\"status\":\"ready\"}" : "{\"status\":\"not ready\"}");
  }
  send_error(*writer, not_found_error("no route " + method + " " + path, "", "not_found"));
}

void OpenAiRoutes::reject(http::ResponseWriter& writer, const std::string& tenant,
                          const ApiError& e) {
  if (ctx_.metrics != nullptr) ctx_.metrics->rejected(tenant, e.status);
  send_error(writer, e);
}

void OpenAiRoutes::models(std::shared_ptr<http::ResponseWriter> writer) {
  static const int64_t created = std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
  const nlohmann::json body = {
      {"object", "list"},
      {"data", nlohmann::json::array({{{"id", ctx_.served_model},
                                       {"object", "model"},
                                       {"created", created},
                                       {"owned_by", "trimserve"},
                                       {"max_model_len", ctx_.max_model_len}}})}};
  writer->send(200, "application/json", body.dump());
}

void OpenAiRoutes::chat_completions(const http::HttpRequest& request,
                                    const TenantPolicy& tenant,
                                    std::shared_ptr<http::ResponseWriter> writer) {
  const auto started = std::chrono::steady_clock::now();
  auto parsed = parse_chat_request(request.body, ctx_.model->vocab_size);
  if (auto* e = std::get_if<ApiError>(&parsed)) return reject(*writer, tenant.name, *e);
  ChatRequest& chat = std::get<ChatRequest>(parsed);
  if (auto e = check_model(chat.model, tenant)) return reject(*writer, tenant.name, *e);
  if (ctx_.chat_template == nullptr) {
    return reject(*writer, tenant.name, unprocessable("this model has no chat template; use /v1/completions"));
  }
  auto text = ctx_.chat_template->render(chat.messages, ChatRenderOptions{});
  if (!text.ok()) return reject(*writer, tenant.name, bad_request(text.status().message(), "messages"));
  generate(ctx_.tokenizer->encode(*text, /*parse_special=*/true), chat, "messages", tenant,
           request, std::move(writer), /*text_completion=*/false, started);
}

void OpenAiRoutes::completions(const http::HttpRequest& request, const TenantPolicy& tenant,
                               std::shared_ptr<http::ResponseWriter> writer) {
  const auto started = std::chrono::steady_clock::now();
  auto parsed = parse_completion_request(request.body, ctx_.model->vocab_size);
  if (auto* e = std::get_if<ApiError>(&parsed)) return reject(*writer, tenant.name, *e);
  CompletionRequest& c = std::get<CompletionRequest>(parsed);
  if (auto e = check_model(c.model, tenant)) return reject(*writer, tenant.name, *e);
  std::vector<int32_t> prompt =
      c.prompt_is_ids ? c.prompt_ids : ctx_.tokenizer->encode(c.prompt_text, /*parse_special=*/true);
  generate(std::move(prompt), c, "prompt", tenant, request, std::move(writer),
           /*text_completion=*/true, started);
}

std::optional<ApiError> OpenAiRoutes::check_model(const std::string& model,
                                                  const TenantPolicy& tenant) const {
  if (model != ctx_.served_model) {
    return not_found_error("The model '" + model + "' does not exist", "model", "model_not_found");
  }
  return ctx_.tenants->check_model(tenant, model);
}

void OpenAiRoutes::generate(std::vector<int32_t> prompt, GenerationFields& gen,
                            const char* prompt_param, const TenantPolicy& tenant,
                            const http::HttpRequest& request,
                            std::shared_ptr<http::ResponseWriter> writer, bool text_completion,
                            std::chrono::steady_clock::time_point started) {
  const auto prompt_len = static_cast<int64_t>(prompt.size());
  if (prompt.empty()) return reject(*writer, tenant.name, unprocessable("the prompt is empty", prompt_param));
  const int64_t room = ctx_.max_model_len - prompt_len;
  const int64_t asked = gen.max_tokens_given ? gen.sampling.max_tokens : 0;
  if (room < 1 || asked > room) {
    // Saturated: max_tokens may be anything up to INT64_MAX.
    const int64_t requested = asked > INT64_MAX - prompt_len ? INT64_MAX : prompt_len + asked;
    ApiError e = from_status(out_of_range(
        "This model's maximum context length is " + std::to_string(ctx_.max_model_len) +
        " tokens. However, you requested " + std::to_string(requested) + " tokens (" +
        std::to_string(prompt_len) + " in the prompt, " + std::to_string(asked) +
        " in the completion)."));
    e.param = prompt_param;
    return reject(*writer, tenant.name, e);
  }
  if (ctx_.max_prompt_tokens > 0 && prompt_len > ctx_.max_prompt_tokens) {
    ApiError e = from_status(out_of_range(
        "the prompt has " + std::to_string(prompt_len) + " tokens, more than this server's " +
        "limit of " + std::to_string(ctx_.max_prompt_tokens)));
    e.param = prompt_param;
    return reject(*writer, tenant.name, e);
  }
  if (ctx_.max_queue > 0 && ctx_.loop->queued() >= ctx_.max_queue) {
    ApiError e = from_status(Status(ErrorCode::kUnavailable,
                                    "the server is overloaded: " + std::to_string(ctx_.max_queue) +
                                        " requests are already waiting; retry shortly"));
    e.retry_after_s = 1.0;
    return reject(*writer, tenant.name, e);
  }
  if (!gen.max_tokens_given) gen.sampling.max_tokens = room;
  auto kv = resolve_request_kv(ctx_.default_kv, gen.kv, tenant.kv_budget_cap, *ctx_.model);
  if (!kv.ok()) {
    // Every message names its field first ("kv_policy ...", "kv_budget ...").
    const std::string& m = kv.status().message();
    return reject(*writer, tenant.name,
                  unprocessable(m, m.rfind("kv_policy", 0) == 0 ? "kv_policy" : "kv_budget"));
  }
  const int64_t charged = prompt_len + gen.sampling.max_tokens;
  if (auto limited = ctx_.tenants->admit(tenant, charged)) {
    return reject(*writer, tenant.name, *limited);
  }
  GenerationRequest g;
  g.tenant = tenant.name;
  g.prompt = std::move(prompt);
  g.sampling = gen.sampling;
  g.kv = *kv;
  g.session_id = gen.session_id;
  if (!g.session_id) {
    const std::string header = request.header("x-session-id");
    if (!header.empty()) g.session_id = header;
  }
  if (ctx_.request_timeout_s > 0) {
    g.deadline = started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double>(ctx_.request_timeout_s));
  }
  auto stream = ctx_.loop->submit(std::move(g));
  CallSpec spec;
  spec.ids = new_completion_ids(ctx_.served_model, text_completion);
  spec.stream = gen.stream;
  spec.include_usage = gen.include_usage;
  spec.tenant = tenant.name;
  spec.started = started;
  spec.prompt_tokens = prompt_len;
  if (gen.sampling.logprobs) spec.logprobs_tokenizer = ctx_.tokenizer;
  // tokens_per_min charged prompt + max_tokens; what was not generated goes back.
  CallObserver observer = [tenants = ctx_.tenants, policy = &tenant, charged, prompt_len,
                           outer = ctx_.observer](const CallRecord& r) {
    tenants->refund(*policy, charged - prompt_len - r.tokens_streamed);
    if (outer) outer(r);
  };
  auto call = std::make_shared<GenerationCall>(std::move(stream), std::move(writer),
                                               std::move(spec), std::move(observer));
  call->start();
}

}  // namespace trimserve::api
