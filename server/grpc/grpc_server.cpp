#include "server/grpc/grpc_server.h"

#include <climits>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

namespace trimserve::grpc_api {

namespace {

constexpr const char* kServiceName = "trimserve.v1.Inference";

}  // namespace

std::string grpc_address(const std::string& host, int port) {
  const bool ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::shared_ptr<grpc::ServerCredentials> tls_server_credentials(const tls::TlsCredentials& creds) {
  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back({creds.private_key_pem, creds.cert_chain_pem});
  return grpc::SslServerCredentials(options);
}

Result<std::unique_ptr<GrpcServer>> GrpcServer::start(
    const std::string& host, int port, grpc::Service& service, int64_t max_message_bytes,
    std::shared_ptr<grpc::ServerCredentials> credentials) {
  // Both are process-wide switches read by the builder: set before it exists.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int selected = 0;
  const std::string address = grpc_address(host, port);
  builder.AddListeningPort(address, std::move(credentials), &selected);
  builder.RegisterService(&service);
  if (max_message_bytes > 0) {
    builder.SetMaxReceiveMessageSize(
        static_cast<int>(std::min<int64_t>(max_message_bytes, INT_MAX)));
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || selected == 0) {
    return Status(ErrorCode::kUnavailable,
                  "gRPC cannot listen on " + address + " (address in use or not local?)");
  }
  auto out = std::unique_ptr<GrpcServer>(new GrpcServer(std::move(server), selected));
  out->set_serving(true);
  return out;
}

GrpcServer::GrpcServer(std::unique_ptr<grpc::Server> server, int port)
    : server_(std::move(server)), port_(port) {}

GrpcServer::~GrpcServer() { shutdown(std::chrono::system_clock::now()); }

void GrpcServer::set_serving(bool serving) {
  if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(serving);
    health->SetServingStatus(kServiceName, serving);
  }
}

void GrpcServer::follow_readiness(std::function<bool()> ready) {
  watcher_ = std::thread([this, ready = std::move(ready)] {
    std::unique_lock lock(watch_mutex_);
    bool last = true;  // start() set SERVING
    while (!watch_stop_) {
      const bool now = ready();
      if (now != last) set_serving(now);
      last = now;
      watch_wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return watch_stop_; });
    }
  });
}

void GrpcServer::shutdown(std::chrono::system_clock::time_point deadline) {
  if (shut_down_) return;
  shut_down_ = true;
  {
    std::lock_guard lock(watch_mutex_);
    watch_stop_ = true;
  }
  watch_wake_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  set_serving(false);
  server_->Shutdown(deadline);
  server_->Wait();
}

}  // namespace trimserve::grpc_api
