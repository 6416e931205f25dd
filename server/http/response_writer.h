// ResponseWriter: how a Handler answers one request, now or later, from any thread; and
// Handler, the function the HTTP server calls with every complete request.
//
// One writer belongs to one request (an "exchange"). The handler answers exactly once: either
// send() a complete response, or begin_stream(), any number of write()s, then end(). Calls out
// of that order, a second answer, and every call once closed() is true are ignored (a stale
// writer can never write into the connection's next response).
//
// Threading: every method may be called from any thread. The calls are queued, in the order
// each calling thread made them, onto the connection's strand, so none of them blocks or
// touches the socket directly. Callbacks (`written`, on_close) run on that strand — an I/O
// thread — so they must not block either.
//
// Ownership: the writer keeps its connection alive. Dropping the last reference without
// having answered is a handler bug: the client gets a 500; mid-stream, the connection is
// closed (the chunked stream visibly truncated) and on_close callbacks run.
//
// Header rules: the server sets Content-Length / Transfer-Encoding, Connection and
// `Server: trimserve` itself; handler-supplied fields with those names are dropped, except
// that `Connection: close` is honoured (the connection closes after this response). Fields
// whose name or value holds CR, LF or NUL are dropped (no header injection).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/http/http_request.h"

namespace trimserve::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;

  // A complete response with Content-Length. `status` outside 200..599 is sent as 500. For
  // HEAD requests and for 204/304 no body is sent.
  virtual void send(int status, std::string content_type, std::string body,
                    HeaderList headers = {}) = 0;

  // Streaming: the status line and headers with Transfer-Encoding: chunked (an HTTP/1.0 client
  // gets the raw bytes and the connection closes at end()), then write()s, then end().
  virtual void begin_stream(int status, std::string content_type, HeaderList headers = {}) = 0;

  // Queues one chunk (an empty one sends nothing). `written` (may be empty) runs on the strand
  // once the socket accepted the chunk: the producer's flow control — a slow reader delays
  // `written`, so a producer that waits for it pauses. If the connection is lost first,
  // `written` never runs (on_close callbacks do).
  virtual void write(std::string chunk, std::function<void()> written = {}) = 0;

  // The last chunk. Once it is written the connection serves its next request (keep-alive)
  // or closes.
  virtual void end() = 0;

  // True once the client went away before the response was completely written (read or write
  // error, write timeout, server stop): from then on, every call above is ignored.
  virtual bool closed() const = 0;

  // `callback` runs once, on the strand, when the client goes away before the response was
  // completely written; at once (on the strand) if that already happened — or on the calling
  // thread once the server has stopped. Callbacks of a response that completed are dropped
  // without running.
  virtual void on_close(std::function<void()> callback) = 0;
};

// Called on an I/O thread with every complete request. It must not block: it answers at once
// or hands the writer to another thread. While the handler owns the response the connection
// applies no timeout, so a slow producer is fine (and one that never answers only holds its
// own connection until the client leaves or the server stops). Exceptions escaping the
// handler are caught; the request is then answered 500.
using Handler = std::function<void(HttpRequest request, std::shared_ptr<ResponseWriter> writer)>;

// Told the status of every answer the transport gives itself, without the handler (error_body.h:
// 400 malformed, 408, 413, 431, 503 too many connections, 500 no answer), for metrics. Called
// on an I/O thread; it must be quick and must not call back into the server.
using TransportErrorObserver = std::function<void(int status)>;

}  // namespace trimserve::http
