// HttpLoadClient: the HTTP/1.1 client behind `trimserve bench http` — one kept-alive
// connection to an OpenAI-compatible server, used by one thread, one request at a time.
//
// Why its own client rather than a library: the benchmark needs the arrival time of every SSE
// event (TTFT and inter-token latency are measured here, on the client side of the socket),
// so the body is read incrementally as bytes arrive, with Boost.Beast (already the server's
// transport) and nothing else.
//
// Contract:
//   - Blocking calls, one at a time per object; each object drives a private io_context, so
//     objects on different threads share nothing. Not thread-safe.
//   - The connection opens on first use and is kept alive between requests; it is closed
//     after any error or when the server does not keep it alive, and reopened by the next
//     call. A request that fails on a reused connection before any response byte arrived
//     (the server may have closed it while idle) is retried once on a fresh connection.
//   - `io_timeout_s` bounds every single connect, write and read (a stalled server), not a
//     whole request: a long stream that keeps sending never times out.
//   - Failures are values, never exceptions: a Status for connect/get, StreamResult::error
//     for post_stream.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace trimserve::cli {

// Where the server listens.
struct HttpTarget {
  std::string host;
  std::string port;
  std::string text() const {  // HOST:PORT, [v6]:PORT
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
  }
};

// "HOST:PORT", "[v6addr]:PORT", optionally with "http://" in front and "/" behind.
// kInvalidArgument for anything else (https, a path, no or a non-numeric port).
Result<HttpTarget> parse_http_target(const std::string& text);

// The message of an OpenAI-shaped error body ({"error": {"message": ...}}), or the start of
// the body (one line) when it is not one.
std::string api_error_message(const std::string& body);

struct HttpReply {
  int status = 0;
  std::string body;
};

// One streamed completion as the client saw it. Times are seconds since just before the
// request was written.
struct StreamResult {
  std::string error;  // "" = success; else one line (HTTP status and the server's message,
                      // an SSE error event, a broken stream, a connection failure)
  int status = 0;     // HTTP status; 0 when no response arrived
  double ttft_s = 0;  // first event carrying generated text; the end of the stream when none
                      // did (every token held back or empty)
  double e2e_s = 0;   // `data: [DONE]`
  int64_t prompt_tokens = 0;            // from the usage chunk
  int64_t completion_tokens = 0;        // from the usage chunk
  std::vector<double> content_times_s;  // arrival of every event carrying generated text
  bool ok() const { return error.empty(); }
};

class HttpLoadClient {
 public:
  // `api_key` non-empty: sent as `Authorization: Bearer <key>` on every request.
  HttpLoadClient(HttpTarget target, std::string api_key, double io_timeout_s);
  ~HttpLoadClient();
  HttpLoadClient(const HttpLoadClient&) = delete;
  HttpLoadClient& operator=(const HttpLoadClient&) = delete;

  // Opens the connection now if it is not open (so a benchmark can connect before its clock
  // starts). kUnavailable: "cannot connect to HOST:PORT: <reason>".
  Status connect();

  // GET `path`, whole body. Errors: connection failures (kUnavailable), timeouts.
  Result<HttpReply> get(const std::string& path);

  // POST `json_body` to `path` expecting an SSE stream (OpenAI streaming: `data: {...}`
  // events closed by `data: [DONE]`; generated text in choices[0].text or
  // choices[0].delta.content; a usage chunk, so ask for stream_options.include_usage).
  // Success needs status 200, [DONE], a usage chunk and no error event.
  StreamResult post_stream(const std::string& path, const std::string& json_body);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;  // keeps Beast out of this header
};

}  // namespace trimserve::cli
