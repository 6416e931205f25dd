// ServerContext: what an HttpServer shares with its listener and its connections — the
// io_context, the handler, the limits, the registry of open connections and the
// running/draining/stopped state.
//
// Why shared: a handler thread may keep a ResponseWriter (and so its connection) past
// HttpServer::stop() and even past the server's destruction. A socket must not outlive the
// io_context it was made on, so every connection holds the context, and the io_context dies
// with the last of them.
//
// Why the stop guard: once stop() has joined the I/O threads nothing runs the io_context any
// more, so a function posted then would wait in its queue until the io_context is destroyed —
// holding a connection, which holds the context: a cycle, and a socket destroyed during its
// own io_context's destruction. post_if_running() refuses instead, atomically with stop().
//
// Threading: every method is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>

#include "server/http/http_limits.h"
#include "server/http/response_writer.h"

namespace trimserve::http {

class Connection;

class ServerContext {
 public:
  // `tls` null: plain HTTP; otherwise every connection is a TLS session with this context.
  ServerContext(Handler handler, HttpLimits limits, int threads,
                std::shared_ptr<boost::asio::ssl::context> tls,
                TransportErrorObserver on_transport_error = {});

  boost::asio::io_context& io() { return io_; }
  const Handler& handler() const { return handler_; }
  const HttpLimits& limits() const { return limits_; }
  boost::asio::ssl::context* tls() const { return tls_.get(); }
  // Tells the observer (if any) that the transport answered `status` itself.
  void transport_error(int status) const {
    if (on_transport_error_) on_transport_error_(status);
  }

  // Posts `fn` onto `executor` unless stop() has begun; returns whether it was posted. For
  // calls that come from outside the I/O threads (writers, public server methods).
  template <class Executor, class Fn>
  bool post_if_running(const Executor& executor, Fn&& fn) {
    std::shared_lock lock(stop_mutex_);
    if (stopped_) return false;
    boost::asio::post(executor, std::forward<Fn>(fn));
    return true;
  }

  // Sets the stopped state; false if it was already set. After it returns no post_if_running()
  // succeeds and add() refuses, so a registry snapshot taken afterwards is complete.
  bool mark_stopped();
  bool stopped() const;

  void mark_draining() { draining_.store(true); }
  bool draining() const { return draining_.load(); }

  // Registry of open connections. add() returns false (not added) once stopped; remove() of
  // a connection that is not registered does nothing.
  bool add(const std::shared_ptr<Connection>& connection);
  void remove(const Connection* connection);
  std::vector<std::shared_ptr<Connection>> connections() const;

  // Admission against limits().max_connections. try_admit() is called by the single accept
  // loop only (so its check-then-increment cannot race another admit); release() once per
  // admitted connection, from any thread.
  bool try_admit();
  void release();
  int64_t num_connections() const { return num_connections_.load(); }

 private:
  boost::asio::io_context io_;
  const Handler handler_;
  const HttpLimits limits_;
  const std::shared_ptr<boost::asio::ssl::context> tls_;
  const TransportErrorObserver on_transport_error_;

  mutable std::shared_mutex stop_mutex_;
  bool stopped_ = false;  // guarded by stop_mutex_
  std::atomic<bool> draining_{false};

  mutable std::mutex registry_mutex_;
  std::unordered_map<const Connection*, std::weak_ptr<Connection>> registry_;  // guarded

  std::atomic<int64_t> num_connections_{0};
};

}  // namespace trimserve::http
