// InferenceService: trimserve.v1.Inference (proto/trimserve.proto) over the same
// ServingContext as the HTTP API — same tenants, rate limits, validation and engine loop.
//
// Every call authenticates from the metadata `authorization: Bearer <key>` (UNAUTHENTICATED)
// and refuses new work while the daemon drains (UNAVAILABLE). Generate and Chat go through
// admit_generation (server/api/generation_admission.h) and stream through a GenerateReactor;
// Tokenize and ListModels answer at once; GetSession and DeleteSession run on the engine
// loop's thread, the only one that touches sessions (another tenant's session is NOT_FOUND,
// as over HTTP). Refusals are counted in the daemon's metrics as the HTTP API's are.
//
// Threading: the handlers run on gRPC's callback threads; everything they touch is immutable
// or thread-safe (as for the HTTP routes).
#pragma once

#include <chrono>
#include <functional>
#include <vector>

#include "server/api/generation_fields.h"
#include "server/api/serving_context.h"
#include "trimserve.grpc.pb.h"

namespace trimserve::grpc_api {

class InferenceService final : public v1::Inference::CallbackService {
 public:
  // While ctx.accepting() is false the daemon drains: new calls get UNAVAILABLE.
  explicit InferenceService(const api::ServingContext& ctx);

  grpc::ServerWriteReactor<v1::GenerateChunk>* Generate(grpc::CallbackServerContext* context,
                                                        const v1::GenerateRequest* request) override;
  grpc::ServerWriteReactor<v1::GenerateChunk>* Chat(grpc::CallbackServerContext* context,
                                                    const v1::ChatRequest* request) override;
  grpc::ServerUnaryReactor* Tokenize(grpc::CallbackServerContext* context,
                                     const v1::TokenizeRequest* request,
                                     v1::TokenizeResponse* response) override;
  grpc::ServerUnaryReactor* ListModels(grpc::CallbackServerContext* context,
                                       const v1::ListModelsRequest* request,
                                       v1::ListModelsResponse* response) override;
  grpc::ServerUnaryReactor* GetSession(grpc::CallbackServerContext* context,
                                       const v1::SessionRequest* request,
                                       v1::SessionInfo* response) override;
  grpc::ServerUnaryReactor* DeleteSession(grpc::CallbackServerContext* context,
                                          const v1::SessionRequest* request,
                                          v1::DeleteSessionResponse* response) override;

 private:
  // The caller's tenant, or the error to refuse the call with (draining, bad key).
  std::variant<const api::TenantPolicy*, api::ApiError> caller(grpc::CallbackServerContext& context) const;
  // The caller's session named by `request` (the tenant's own; another's is simply not found).
  std::variant<SessionKey, api::ApiError> session_key(grpc::CallbackServerContext& context,
                                                      const v1::SessionRequest& request) const;
  // What Generate and Chat check first: the caller (tenant), the generation fields read as
  // the HTTP API reads them (into `gen`; an empty `session_id` falls back to the x-session-id
  // metadata, as HTTP's to the X-Session-Id header), the model. `error` set: refuse (under `tenant`'s
  // name when known).
  struct CallStart {
    const api::TenantPolicy* tenant = nullptr;
    std::optional<api::ApiError> error;
  };
  CallStart start_call(grpc::CallbackServerContext& context, const std::string& model,
                       const v1::SamplingParams& sampling, const v1::KvOptions& kv,
                       const std::string& session_id, api::GenerationFields& gen) const;
  // Admits and starts streaming, or refuses.
  grpc::ServerWriteReactor<v1::GenerateChunk>* generate(
      grpc::CallbackServerContext& context, const api::TenantPolicy& tenant,
      std::vector<int32_t> prompt, api::GenerationFields& gen, const char* prompt_param,
      std::chrono::steady_clock::time_point started);
  grpc::ServerWriteReactor<v1::GenerateChunk>* refuse_stream(grpc::CallbackServerContext& context,
                                                             const std::string& tenant,
                                                             const api::ApiError& e);
  // A unary call's answer: the status, or the refusal `e` (with its retry trailer).
  grpc::ServerUnaryReactor* finish(grpc::CallbackServerContext& context, const grpc::Status& status);
  grpc::ServerUnaryReactor* finish(grpc::CallbackServerContext& context, const api::ApiError& e);
  // Chat messages checked as the HTTP API checks them, rendered and tokenized.
  std::variant<std::vector<int32_t>, api::ApiError> chat_ids(
      const google::protobuf::RepeatedPtrField<v1::ChatMessage>& messages,
      const ChatRenderOptions& options) const;
  void count_refusal(const std::string& tenant, const api::ApiError& e) const;

  const api::ServingContext& ctx_;
};

}  // namespace trimserve::grpc_api
