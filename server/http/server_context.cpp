#include "server/http/server_context.h"

namespace trimserve::http {

ServerContext::ServerContext(Handler handler, HttpLimits limits, int threads,
                             std::shared_ptr<boost::asio::ssl::context> tls,
                             TransportErrorObserver on_transport_error)
    : io_(threads),
      handler_(std::move(handler)),
      limits_(limits),
      tls_(std::move(tls)),
      on_transport_error_(std::move(on_transport_error)) {}

bool ServerContext::mark_stopped() {
  std::unique_lock lock(stop_mutex_);
  if (stopped_) return false;
  stopped_ = true;
  return true;
}

bool ServerContext::stopped() const {
  std::shared_lock lock(stop_mutex_);
  return stopped_;
}

bool ServerContext::add(const std::shared_ptr<Connection>& connection) {
  // Checked under the registry lock: stop() marks stopped before it takes its snapshot, so a
  // connection is either in that snapshot or refused here — never left running unseen.
  std::lock_guard lock(registry_mutex_);
  if (stopped()) return false;
  registry_.emplace(connection.get(), connection);
  return true;
}

void ServerContext::remove(const Connection* connection) {
  std::lock_guard lock(registry_mutex_);
  registry_.erase(connection);
}

std::vector<std::shared_ptr<Connection>> ServerContext::connections() const {
  std::lock_guard lock(registry_mutex_);
  std::vector<std::shared_ptr<Connection>> live;
  live.reserve(registry_.size());
  for (const auto& [key, weak] : registry_) {
    if (auto connection = weak.lock()) live.push_back(std::move(connection));
  }
  return live;
}

bool ServerContext::try_admit() {
  if (num_connections_.load() >= limits_.max_connections) return false;
  num_connections_.fetch_add(1);
  return true;
}

void ServerContext::release() { num_connections_.fetch_sub(1); }

}  // namespace trimserve::http
