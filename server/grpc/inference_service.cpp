#include "server/grpc/inference_service.h"

#include <string>

#include "server/api/chat_request.h"
#include "server/api/chat_response.h"
#include "server/api/completion_request.h"
#include "server/api/daemon_metrics.h"
#include "server/api/generation_admission.h"
#include "server/grpc/generate_reactor.h"
#include "server/grpc/grpc_status.h"
#include "server/grpc/proto_convert.h"

namespace trimserve::grpc_api {

namespace {

using api::ApiError;
using api::TenantPolicy;
using ChunkWriter = grpc::ServerWriteReactor<v1::GenerateChunk>;

// A streaming call refused before it started: finishes at once with the status.
class RefusedStream : public ChunkWriter {
 public:
  explicit RefusedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

grpc::Status session_not_found(const SessionKey& key) {
  return grpc::Status(grpc::StatusCode::NOT_FOUND, "session '" + key.session_id + "' not found");
}

// An empty `model` means the served one: gRPC clients need not know its name.
const std::string& model_or_served(const std::string& model, const api::ServingContext& ctx) {
  return model.empty() ? ctx.served_model : model;
}

// The first value of metadata `key` (lower case, as gRPC delivers keys), or "".
std::string metadata_value(const grpc::CallbackServerContext& context, const char* key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(key);
  return it == metadata.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

}  // namespace

InferenceService::InferenceService(const api::ServingContext& ctx) : ctx_(ctx) {}

std::variant<const TenantPolicy*, ApiError> InferenceService::caller(
    grpc::CallbackServerContext& context) const {
  if (auto e = api::draining_error(ctx_)) return *e;
  return ctx_.tenants->authenticate(metadata_value(context, "authorization"));
}

void InferenceService::count_refusal(const std::string& tenant, const ApiError& e) const {
  if (ctx_.metrics != nullptr) ctx_.metrics->rejected(tenant, e.status);
}

ChunkWriter* InferenceService::refuse_stream(grpc::CallbackServerContext& context,
                                             const std::string& tenant, const ApiError& e) {
  count_refusal(tenant, e);
  add_retry_trailer(context, e);
  return new RefusedStream(to_grpc_status(e));
}

grpc::ServerUnaryReactor* InferenceService::finish(grpc::CallbackServerContext& context,
                                                   const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context.DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* InferenceService::finish(grpc::CallbackServerContext& context,
                                                   const ApiError& e) {
  add_retry_trailer(context, e);
  return finish(context, to_grpc_status(e));
}

std::variant<std::vector<int32_t>, ApiError> InferenceService::chat_ids(
    const google::protobuf::RepeatedPtrField<v1::ChatMessage>& messages,
    const ChatRenderOptions& options) const {
  auto checked = api::chat_messages(messages_json(messages));
  if (auto* e = std::get_if<ApiError>(&checked)) return *e;
  return api::chat_prompt(ctx_, std::get<nlohmann::ordered_json>(checked), options);
}

InferenceService::CallStart InferenceService::start_call(grpc::CallbackServerContext& context,
                                                         const std::string& model,
                                                         const v1::SamplingParams& sampling,
                                                         const v1::KvOptions& kv,
                                                         const std::string& session_id,
                                                         api::GenerationFields& gen) const {
  CallStart out;
  auto who = caller(context);
  if (auto* e = std::get_if<ApiError>(&who)) {
    out.error = *e;
    return out;
  }
  out.tenant = std::get<const TenantPolicy*>(who);
  // As over HTTP, the x-session-id header (metadata here) stands in for a missing session_id:
  // the one a load balancer hashes on to keep a conversation on its replica.
  const std::string session =
      session_id.empty() ? metadata_value(context, "x-session-id") : session_id;
  out.error = api::parse_generation_fields(generation_json(sampling, kv, session),
                                           ctx_.model->vocab_size, /*text_completion=*/false, gen);
  if (!out.error) out.error = api::check_model(ctx_, model_or_served(model, ctx_), *out.tenant);
  return out;
}

ChunkWriter* InferenceService::generate(grpc::CallbackServerContext& context,
                                        const TenantPolicy& tenant, std::vector<int32_t> prompt,
                                        api::GenerationFields& gen, const char* prompt_param,
                                        std::chrono::steady_clock::time_point started) {
  auto admitted = api::admit_generation(ctx_, std::move(prompt), gen, prompt_param, tenant, started);
  if (auto* e = std::get_if<ApiError>(&admitted)) return refuse_stream(context, tenant.name, *e);
  api::Admission& a = std::get<api::Admission>(admitted);
  GenerateSpec spec;
  spec.id = api::new_completion_ids(ctx_.served_model).id;
  spec.tenant = tenant.name;
  spec.started = started;
  spec.prompt_tokens = a.prompt_tokens;
  if (gen.sampling.logprobs) spec.logprobs_tokenizer = ctx_.tokenizer;
  return GenerateReactor::start(std::move(a.stream), std::move(spec), std::move(a.observer));
}

ChunkWriter* InferenceService::Generate(grpc::CallbackServerContext* context,
                                        const v1::GenerateRequest* request) {
  const auto started = std::chrono::steady_clock::now();
  api::GenerationFields gen;
  const CallStart call = start_call(*context, request->model(), request->sampling(), request->kv(),
                                    request->session_id(), gen);
  if (call.error) {
    return refuse_stream(*context, call.tenant ? call.tenant->name : "unknown", *call.error);
  }
  const TenantPolicy& tenant = *call.tenant;
  std::vector<int32_t> prompt;
  switch (request->input_case()) {
    case v1::GenerateRequest::kPrompt:
      prompt = ctx_.tokenizer->encode(request->prompt(), /*parse_special=*/true);
      break;
    case v1::GenerateRequest::kPromptIds:
      for (const int32_t id : request->prompt_ids().ids()) {
        if (auto e = api::check_prompt_id(id, ctx_.model->vocab_size, "prompt_ids")) {
          return refuse_stream(*context, tenant.name, *e);
        }
        prompt.push_back(id);
      }
      break;
    default:
      return refuse_stream(*context, tenant.name,
                           api::bad_request("'prompt' or 'prompt_ids' is required", "prompt"));
  }
  return generate(*context, tenant, std::move(prompt), gen, "prompt", started);
}

ChunkWriter* InferenceService::Chat(grpc::CallbackServerContext* context,
                                    const v1::ChatRequest* request) {
  const auto started = std::chrono::steady_clock::now();
  api::GenerationFields gen;
  const CallStart call = start_call(*context, request->model(), request->sampling(), request->kv(),
                                    request->session_id(), gen);
  if (call.error) {
    return refuse_stream(*context, call.tenant ? call.tenant->name : "unknown", *call.error);
  }
  const TenantPolicy& tenant = *call.tenant;
  ChatRenderOptions options;
  if (request->has_enable_thinking()) options.enable_thinking = request->enable_thinking();
  auto prompt = chat_ids(request->messages(), options);
  if (auto* e = std::get_if<ApiError>(&prompt)) return refuse_stream(*context, tenant.name, *e);
  return generate(*context, tenant, std::move(std::get<std::vector<int32_t>>(prompt)), gen,
                  "messages", started);
}

grpc::ServerUnaryReactor* InferenceService::Tokenize(grpc::CallbackServerContext* context,
                                                     const v1::TokenizeRequest* request,
                                                     v1::TokenizeResponse* response) {
  auto who = caller(*context);
  if (auto* e = std::get_if<ApiError>(&who)) return finish(*context, *e);
  const TenantPolicy& tenant = *std::get<const TenantPolicy*>(who);
  if (auto e = api::check_model(ctx_, model_or_served(request->model(), ctx_), tenant)) {
    return finish(*context, *e);
  }
  std::vector<int32_t> ids;
  if (request->messages_size() > 0) {
    ChatRenderOptions options;
    options.add_generation_prompt = request->add_generation_prompt();
    auto prompt = chat_ids(request->messages(), options);
    if (auto* e = std::get_if<ApiError>(&prompt)) return finish(*context, *e);
    ids = std::move(std::get<std::vector<int32_t>>(prompt));
  } else {
    ids = ctx_.tokenizer->encode(request->text(), /*parse_special=*/true);
  }
  response->mutable_ids()->Add(ids.begin(), ids.end());
  response->set_max_model_len(static_cast<uint64_t>(ctx_.max_model_len));
  return finish(*context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* InferenceService::ListModels(grpc::CallbackServerContext* context,
                                                       const v1::ListModelsRequest* /*request*/,
                                                       v1::ListModelsResponse* response) {
  auto who = caller(*context);
  if (auto* e = std::get_if<ApiError>(&who)) return finish(*context, *e);
  v1::ModelInfo* m = response->add_models();
  m->set_id(ctx_.served_model);
  m->set_max_model_len(static_cast<uint64_t>(ctx_.max_model_len));
  m->set_has_retention_gates(ctx_.model->retention_gate != RetentionGateKind::kNone);
  return finish(*context, grpc::Status::OK);
}

std::variant<SessionKey, ApiError> InferenceService::session_key(
    grpc::CallbackServerContext& context, const v1::SessionRequest& request) const {
  auto who = caller(context);
  if (auto* e = std::get_if<ApiError>(&who)) return *e;
  if (request.session_id().empty()) {
    return api::unprocessable("'session_id' must not be empty", "session_id");
  }
  return SessionKey{std::get<const TenantPolicy*>(who)->name, request.session_id()};
}

grpc::ServerUnaryReactor* InferenceService::GetSession(grpc::CallbackServerContext* context,
                                                       const v1::SessionRequest* request,
                                                       v1::SessionInfo* response) {
  auto key = session_key(*context, *request);
  if (auto* e = std::get_if<ApiError>(&key)) return finish(*context, *e);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  ctx_.loop->post([key = std::get<SessionKey>(key), reactor, response](SessionManager& sessions) {
    auto info = sessions.store().info(key);
    if (!info.ok()) {
      return reactor->Finish(session_not_found(key));
    }
    response->set_session_id(key.session_id);
    response->set_num_tokens(static_cast<uint64_t>(info->num_tokens));
    response->set_running(info->running);
    response->set_idle_seconds(info->idle_s);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* InferenceService::DeleteSession(grpc::CallbackServerContext* context,
                                                          const v1::SessionRequest* request,
                                                          v1::DeleteSessionResponse* response) {
  auto key = session_key(*context, *request);
  if (auto* e = std::get_if<ApiError>(&key)) return finish(*context, *e);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  ctx_.loop->post([key = std::get<SessionKey>(key), reactor, response](SessionManager& sessions) {
    const Status s = sessions.remove(key);
    if (s.code() == ErrorCode::kNotFound) {
      return reactor->Finish(session_not_found(key));
    }
    if (!s.ok()) return reactor->Finish(to_grpc_status(api::from_status(s, "session_id")));
    response->set_session_id(key.session_id);
    response->set_deleted(true);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace trimserve::grpc_api
