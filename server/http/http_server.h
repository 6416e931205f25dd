// HttpServer: the daemon's HTTP/1.1 transport (Boost.Beast, asynchronous, keep-alive). It
// accepts connections, reads requests under HttpLimits, calls the Handler with each complete
// request and writes what the handler answers through its ResponseWriter — complete
// responses or chunked streams. It is a transport only: routing, auth, JSON and the engine
// live in the handler.
//
// Transport-level failures are answered here with OpenAI-shaped JSON errors (error_body.h):
// 400 malformed request, 408 request not received in time, 413 body too large, 431 header
// block too large, 503 too many connections, 500 handler gave no answer. Nothing is logged per
// request (the access log lives with the handler); connection-level errors go to the "http"
// logger at debug level, never with header values.
//
// Threading: the constructor starts `threads` I/O threads that run every connection (each on
// a strand of its own) and the handler. The public methods are thread-safe, but stop() and
// the destructor must not be called from an I/O thread (a handler or a writer callback): they
// join those threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "common/status.h"
#include "server/http/http_limits.h"
#include "server/http/http_request.h"
#include "server/http/response_writer.h"

namespace trimserve::http {

class Listener;
class ServerContext;
struct WorkGuard;

class HttpServer {
 public:
  // `threads` < 1 is taken as 1. `tls` (tls::make_ssl_context): serve HTTPS instead — a TLS
  // handshake, under limits.read_timeout_s, before each connection's first request.
  // `on_transport_error`, when set, hears of each transport-level refusal (it must outlive
  // stop(), which joins the threads that call it).
  HttpServer(Handler handler, HttpLimits limits, int threads,
             std::shared_ptr<boost::asio::ssl::context> tls = nullptr,
             TransportErrorObserver on_transport_error = {});
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting; port 0 = any free port. Once: a second call, or a call after
  // stop(), is kFailedPrecondition. Errors: kUnavailable with the OS message
  // ("cannot listen on 127.0.0.1:8080: Address already in use").
  Status listen(const std::string& host, int port);
  int port() const;  // the bound port; 0 before a successful listen()

  // Draining: closes connections that sit between requests and lets the others finish their
  // current response, then close. The listener stays open: a connection accepted while
  // draining is answered once (the handler decides how — trimserve's routes say 503 with
  // Retry-After) and closed, so a client learns the server is going instead of meeting a
  // refused connect it cannot tell from a crash. stop() closes the listener.
  void drain();

  // Closes everything and joins the I/O threads. Open exchanges are lost: their writers report
  // closed() and their on_close callbacks run. Writers may outlive the server; their calls are
  // then ignored. Idempotent.
  void stop();

  // Admitted connections whose socket is still open (a closing one lingers up to 2 s for
  // the client's close); those being answered 503 are not counted.
  int64_t num_connections() const;

 private:
  std::shared_ptr<ServerContext> context_;
  std::unique_ptr<WorkGuard> work_;  // keeps the I/O threads running while there is no I/O
  std::shared_ptr<Listener> listener_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;       // serializes listen(), drain() and stop()'s first half
  std::mutex join_mutex_;  // serializes joining threads_
  std::atomic<int> port_{0};
};

}  // namespace trimserve::http
