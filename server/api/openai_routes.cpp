#include "server/api/openai_routes.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "scheduler/kv_settings.h"
#include "server/api/api_error.h"
#include "server/api/generation_call.h"
#include "server/api/chat_request.h"
#include "server/api/completion_request.h"
#include "server/api/generation_admission.h"
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
  const bool api_call = path.rfind("/v1/", 0) == 0 || path == "/tokenize" || path == "/detokenize";
  if (api_call) {
    if (auto e = draining_error(ctx_)) return reject(*writer, "unknown", *e);
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
  if (auto e = check_model(ctx_, chat.model, tenant)) return reject(*writer, tenant.name, *e);
  auto prompt = chat_prompt(ctx_, chat.messages, ChatRenderOptions{});
  if (auto* e = std::get_if<ApiError>(&prompt)) return reject(*writer, tenant.name, *e);
  generate(std::move(std::get<std::vector<int32_t>>(prompt)), chat, "messages", tenant, request,
           std::move(writer), /*text_completion=*/false, started);
}

void OpenAiRoutes::completions(const http::HttpRequest& request, const TenantPolicy& tenant,
                               std::shared_ptr<http::ResponseWriter> writer) {
  const auto started = std::chrono::steady_clock::now();
  auto parsed = parse_completion_request(request.body, ctx_.model->vocab_size);
  if (auto* e = std::get_if<ApiError>(&parsed)) return reject(*writer, tenant.name, *e);
  CompletionRequest& c = std::get<CompletionRequest>(parsed);
  if (auto e = check_model(ctx_, c.model, tenant)) return reject(*writer, tenant.name, *e);
  std::vector<int32_t> prompt =
      c.prompt_is_ids ? c.prompt_ids : ctx_.tokenizer->encode(c.prompt_text, /*parse_special=*/true);
  generate(std::move(prompt), c, "prompt", tenant, request, std::move(writer),
           /*text_completion=*/true, started);
}

void OpenAiRoutes::generate(std::vector<int32_t> prompt, GenerationFields& gen,
                            const char* prompt_param, const TenantPolicy& tenant,
                            const http::HttpRequest& request,
                            std::shared_ptr<http::ResponseWriter> writer, bool text_completion,
                            std::chrono::steady_clock::time_point started) {
  if (!gen.session_id) {
    const std::string header = request.header("x-session-id");
    if (!header.empty()) gen.session_id = header;
  }
  auto admitted = admit_generation(ctx_, std::move(prompt), gen, prompt_param, tenant, started);
  if (auto* e = std::get_if<ApiError>(&admitted)) return reject(*writer, tenant.name, *e);
  Admission& a = std::get<Admission>(admitted);
  CallSpec spec;
  spec.ids = new_completion_ids(ctx_.served_model, text_completion);
  spec.stream = gen.stream;
  spec.include_usage = gen.include_usage;
  spec.tenant = tenant.name;
  spec.started = started;
  spec.prompt_tokens = a.prompt_tokens;
  if (gen.sampling.logprobs) spec.logprobs_tokenizer = ctx_.tokenizer;
  auto call = std::make_shared<GenerationCall>(std::move(a.stream), std::move(writer),
                                               std::move(spec), std::move(a.observer));
  call->start();
}

}  // namespace trimserve::api
