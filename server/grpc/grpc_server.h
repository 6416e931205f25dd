// GrpcServer: the gRPC transport of `trimserve serve` — trimserve.v1.Inference, the standard
// health service grpc.health.v1.Health ("" and "trimserve.v1.Inference": SERVING, then
// NOT_SERVING once the daemon drains) and server reflection (grpcurl and friends list and
// call the service without the .proto).
//
// Requests larger than `max_message_bytes` (server.limits.max_body_bytes, as for HTTP) are
// refused by gRPC itself with RESOURCE_EXHAUSTED.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "common/status.h"
#include "server/tls/tls_credentials.h"

namespace trimserve::grpc_api {

class GrpcServer {
 public:
  // Listens on host:port (port 0: a free one) with `credentials` (insecure, or TLS from
  // tls_credentials()) and serves `service`, which must outlive the server. kUnavailable when
  // the address cannot be bound.
  static Result<std::unique_ptr<GrpcServer>> start(
      const std::string& host, int port, grpc::Service& service, int64_t max_message_bytes,
      std::shared_ptr<grpc::ServerCredentials> credentials);
  ~GrpcServer();

  int port() const { return port_; }

  // The health service's answer for every service name.
  void set_serving(bool serving);

  // From now until shutdown(), the health service follows `ready` (GET /ready's predicate:
  // not draining, engine healthy), polled every 100 ms, so a gRPC readiness probe sees what
  // an HTTP one does. Call once.
  void follow_readiness(std::function<bool()> ready);

  // Stops accepting calls, waits for the calls in flight until `deadline`, then cancels what
  // is left. Idempotent.
  void shutdown(std::chrono::system_clock::time_point deadline);

 private:
  GrpcServer(std::unique_ptr<grpc::Server> server, int port);
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
  std::mutex watch_mutex_;
  std::condition_variable watch_wake_;
  bool watch_stop_ = false;  // guarded by watch_mutex_
  std::thread watcher_;
};

// Server credentials for `creds` (server.tls): TLS, no client certificate asked for (clients
// authenticate with their API key, as over HTTP).
std::shared_ptr<grpc::ServerCredentials> tls_server_credentials(const tls::TlsCredentials& creds);

// "host:port" as gRPC wants it (an IPv6 address in brackets).
std::string grpc_address(const std::string& host, int port);

}  // namespace trimserve::grpc_api
