#include "server/http/http_server.h"

#include <algorithm>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "server/http/connection.h"
#include "server/http/listener.h"
#include "server/http/server_context.h"

namespace trimserve::http {

struct WorkGuard {
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard;
};

HttpServer::HttpServer(Handler handler, HttpLimits limits, int threads,
                       std::shared_ptr<boost::asio::ssl::context> tls,
                       TransportErrorObserver on_transport_error) {
  int num_threads = std::max(threads, 1);
  context_ = std::make_shared<ServerContext>(std::move(handler), limits, num_threads,
                                             std::move(tls), std::move(on_transport_error));
  work_ = std::make_unique<WorkGuard>(
      WorkGuard{boost::asio::make_work_guard(context_->io().get_executor())});
  threads_.reserve(num_threads);
  for (int i = 0; i < num_threads; ++i) {
    threads_.emplace_back([context = context_] { context->io().run(); });
  }
}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::listen(const std::string& host, int port) {
  std::lock_guard lock(mutex_);
  if (listener_ || context_->stopped()) {
    return failed_precondition("HttpServer::listen: already listening or stopped");
  }
  auto listener = std::make_shared<Listener>(context_);
  TS_RETURN_IF_ERROR(listener->open(host, port));
  port_.store(listener->port());
  listener_ = std::move(listener);
  listener_->start();
  return Status::ok_status();
}

int HttpServer::port() const { return port_.load(); }

void HttpServer::drain() {
  std::lock_guard lock(mutex_);
  if (context_->stopped()) return;  // nothing runs the connections any more
  context_->mark_draining();
  for (const auto& connection : context_->connections()) connection->drain();
}

void HttpServer::stop() {
  {
    std::lock_guard lock(mutex_);
    // From here on writers' posts are refused and no connection is added, so the snapshot
    // below is complete; these posts are the last ones, and run before the threads end.
    if (context_->mark_stopped()) {
      if (listener_) listener_->close();
      for (const auto& connection : context_->connections()) connection->close();
      work_.reset();
    }
  }
  // Joined outside mutex_, so a handler that calls drain() meanwhile cannot block
  // the very thread being joined.
  std::lock_guard lock(join_mutex_);
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

int64_t HttpServer::num_connections() const { return context_->num_connections(); }

}  // namespace trimserve::http
