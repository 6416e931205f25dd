// HttpLimits: what one client may cost the HTTP server before it is cut off (memory per
// request, time per request, sockets). Plain values; HttpServer copies them at construction.
#pragma once

#include <cstdint>

namespace trimserve::http {

struct HttpLimits {
  // A request whose body is larger is answered 413 and the connection closed. A declared
  // Content-Length is checked before any of the body is read; a chunked body as it arrives.
  int64_t max_body_bytes = 8 << 20;
  // Request line plus header fields; larger: 431, then close.
  int64_t max_header_bytes = 16 << 10;
  // A whole request (from its first byte, or from accept for a connection's first request)
  // must arrive within this, so slow senders (slowloris) cannot hold sockets. Then: 408 if any
  // of the request had arrived, and the connection is closed.
  double read_timeout_s = 30;
  // A keep-alive connection waiting for its next request is closed (quietly) after this.
  double idle_timeout_s = 60;
  // One socket write (a response, a stream's header or chunk) must complete within this, so a
  // client that stops reading cannot hold a connection (and its producer) forever. Expiry
  // closes the connection like any write error.
  double write_timeout_s = 60;
  // Open connections (those being answered 503 not counted). A connection accepted beyond
  // this is answered 503 and closed at once.
  int64_t max_connections = 1024;
};

}  // namespace trimserve::http
