#include "server/cli/chat_client.h"

#include <algorithm>
#include <random>

#include <fmt/format.h>

namespace trimserve::cli {

namespace {

std::string random_session_id() {
  std::random_device rd;
  return fmt::format("client-{:08x}{:08x}", rd(), rd());
}

const char* code_name(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "ERROR";
  }
}

}  // namespace

Status from_grpc_status(const grpc::Status& s) {
  if (s.ok()) return Status();
  const std::string message = std::string(code_name(s.error_code())) + ": " + s.error_message();
  switch (s.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT: return invalid_argument(message);
    case grpc::StatusCode::NOT_FOUND: return not_found(message);
    case grpc::StatusCode::PERMISSION_DENIED: return Status(ErrorCode::kPermissionDenied, message);
    case grpc::StatusCode::UNAUTHENTICATED: return Status(ErrorCode::kUnauthenticated, message);
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return Status(ErrorCode::kResourceExhausted, message);
    case grpc::StatusCode::DEADLINE_EXCEEDED: return Status(ErrorCode::kDeadlineExceeded, message);
    default: return Status(ErrorCode::kUnavailable, message);
  }
}

ChatClient::ChatClient(std::shared_ptr<grpc::Channel> channel, ChatClientOptions options)
    : stub_(v1::Inference::NewStub(std::move(channel))), options_(std::move(options)) {
  if (options_.session_id.empty()) options_.session_id = random_session_id();
}

void ChatClient::prepare(grpc::ClientContext& context) const {
  if (!options_.api_key.empty()) {
    context.AddMetadata("authorization", "Bearer " + options_.api_key);
  }
  // The session also rides as metadata: a load balancer hashing on x-session-id (the Helm
  // chart's gRPC ingress) sends every turn to the replica holding the session's cache.
  const std::string& id = options_.session_id;
  if (std::all_of(id.begin(), id.end(), [](unsigned char ch) { return ch >= 0x20 && ch < 0x7f; })) {
    context.AddMetadata("x-session-id", id);
  }
  context.set_deadline(std::chrono::system_clock::now() + options_.timeout);
}

Result<TurnResult> ChatClient::turn(const std::string& user,
                                    const std::function<void(const std::string&)>& on_text) {
  v1::ChatRequest request;
  request.set_model(options_.model);
  if (options_.keep_session) request.set_session_id(options_.session_id);
  *request.mutable_sampling() = options_.sampling;
  *request.mutable_kv() = options_.kv;
  if (!options_.system.empty()) {
    v1::ChatMessage* m = request.add_messages();
    m->set_role("system");
    m->set_content(options_.system);
  }
  for (const v1::ChatMessage& m : history_) *request.add_messages() = m;
  v1::ChatMessage* asked = request.add_messages();
  asked->set_role("user");
  asked->set_content(user);

  grpc::ClientContext context;
  prepare(context);
  std::unique_ptr<grpc::ClientReader<v1::GenerateChunk>> reader = stub_->Chat(&context, request);
  TurnResult out;
  v1::GenerateChunk chunk;
  while (reader->Read(&chunk)) {
    out.token_ids.insert(out.token_ids.end(), chunk.token_ids().begin(), chunk.token_ids().end());
    if (!chunk.text().empty()) {
      out.text += chunk.text();
      if (on_text) on_text(chunk.text());
    }
    if (!chunk.finish_reason().empty()) out.finish_reason = chunk.finish_reason();
    if (chunk.has_usage()) out.usage = chunk.usage();
    out.request_id = chunk.id();
  }
  if (Status s = from_grpc_status(reader->Finish()); !s.ok()) return s;
  history_.push_back(*asked);
  v1::ChatMessage reply;
  reply.set_role("assistant");
  reply.set_content(out.text);
  history_.push_back(std::move(reply));
  return out;
}

Status ChatClient::reset() {
  grpc::ClientContext context;
  prepare(context);
  v1::SessionRequest request;
  request.set_session_id(options_.session_id);
  v1::DeleteSessionResponse response;
  const grpc::Status s = stub_->DeleteSession(&context, request, &response);
  if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) return from_grpc_status(s);
  history_.clear();
  options_.session_id = random_session_id();
  return Status();
}

Result<v1::SessionInfo> ChatClient::session_info() {
  grpc::ClientContext context;
  prepare(context);
  v1::SessionRequest request;
  request.set_session_id(options_.session_id);
  v1::SessionInfo info;
  if (Status s = from_grpc_status(stub_->GetSession(&context, request, &info)); !s.ok()) return s;
  return info;
}

}  // namespace trimserve::cli
