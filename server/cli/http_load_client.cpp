#include "server/cli/http_load_client.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>

namespace trimserve::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kUserAgent = "trimserve-bench";

bool all_digits(const std::string& s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Incremental parser of an OpenAI SSE stream. Events are separated by a blank line; only
// `data:` lines matter (comments, `event:` and `id:` lines are ignored). Bytes are fed as
// they arrive, with their arrival time, so every event is timed when its last byte came.
class SseStream {
 public:
  void feed(const char* data, size_t n, double t, StreamResult& r) {
    for (size_t i = 0; i < n; ++i) {
      if (data[i] != '\r') pending_.push_back(data[i]);  // CRLF framing is allowed by SSE
    }
    for (size_t end; (end = pending_.find("\n\n")) != std::string::npos;) {
      event(pending_.substr(0, end), t, r);
      pending_.erase(0, end + 2);
    }
  }

  // The verdict once the body has ended.
  void finish(StreamResult& r) const {
    if (!error_.empty()) {
      r.error = error_;
    } else if (!done_) {
      r.error = "the stream ended without data: [DONE]";
    } else if (!usage_) {
      r.error = "no usage chunk in the stream (stream_options.include_usage not supported?)";
    }
    r.ttft_s = r.content_times_s.empty() ? r.e2e_s : r.content_times_s.front();
  }

 private:
  void event(const std::string& block, double t, StreamResult& r) {
    std::string payload;
    bool has_data = false;
    for (size_t start = 0; start <= block.size();) {
      size_t nl = block.find('\n', start);
      if (nl == std::string::npos) nl = block.size();
      const std::string line = block.substr(start, nl - start);
      start = nl + 1;
      if (line.rfind("data:", 0) != 0) continue;
      std::string value = line.substr(5);
      if (!value.empty() && value[0] == ' ') value.erase(0, 1);
      if (has_data) payload += '\n';  // multi-line data joins with newlines (SSE)
      payload += value;
      has_data = true;
    }
    if (!has_data || done_ || !error_.empty()) return;
    if (payload == "[DONE]") {
      done_ = true;
      r.e2e_s = t;
      return;
    }
    const nlohmann::json j = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) {
      error_ = "malformed SSE event: " + payload.substr(0, 100);
      return;
    }
    if (j.contains("error")) {
      error_ = "error event: " + api_error_message(payload);
      return;
    }
    if (j.contains("usage") && j["usage"].is_object()) {
      const nlohmann::json& u = j["usage"];
      r.prompt_tokens = u.value("prompt_tokens", int64_t{0});
      r.completion_tokens = u.value("completion_tokens", int64_t{0});
      usage_ = true;
    }
    if (j.contains("choices") && j["choices"].is_array() && !j["choices"].empty()) {
      const nlohmann::json& c = j["choices"][0];
      const nlohmann::json* text = nullptr;
      if (c.contains("text")) {
        text = &c["text"];  // /v1/completions
      } else if (c.contains("delta") && c["delta"].is_object() && c["delta"].contains("content")) {
        text = &c["delta"]["content"];  // /v1/chat/completions
      }
      if (text != nullptr && text->is_string() && !text->get_ref<const std::string&>().empty()) {
        r.content_times_s.push_back(t);
      }
    }
  }

  std::string pending_;
  std::string error_;
  bool done_ = false;
  bool usage_ = false;
};

}  // namespace

std::string api_error_message(const std::string& body) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("error")) {
    const nlohmann::json& e = j["error"];
    if (e.is_object() && e.contains("message") && e["message"].is_string()) {
      return e["message"].get<std::string>();
    }
    if (e.is_string()) return e.get<std::string>();
  }
  std::string s = body.substr(0, 200);
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

Result<HttpTarget> parse_http_target(const std::string& text) {
  const Status bad = invalid_argument("--target: expected HOST:PORT, got '" + text + "'");
  std::string t = text;
  if (t.rfind("https://", 0) == 0) {
    return invalid_argument("--target: only plain HTTP is supported, got '" + text + "'");
  }
  if (t.rfind("http://", 0) == 0) t.erase(0, 7);
  if (!t.empty() && t.back() == '/') t.pop_back();
  HttpTarget target;
  if (!t.empty() && t[0] == '[') {  // [v6]:port
    const size_t close = t.find(']');
    if (close == std::string::npos || close + 1 >= t.size() || t[close + 1] != ':') return bad;
    target.host = t.substr(1, close - 1);
    target.port = t.substr(close + 2);
  } else {
    const size_t colon = t.find(':');
    if (colon == std::string::npos || t.find(':', colon + 1) != std::string::npos) return bad;
    target.host = t.substr(0, colon);
    target.port = t.substr(colon + 1);
  }
  if (target.host.empty() || target.host.find('/') != std::string::npos ||
      !all_digits(target.port) || target.port.size() > 5) {
    return bad;
  }
  const int port = std::stoi(target.port);
  if (port < 1 || port > 65535) return bad;
  return target;
}

struct HttpLoadClient::Impl {
  HttpTarget target;
  std::string api_key;
  std::chrono::steady_clock::duration timeout;
  double timeout_s;
  // Declared before the stream, which must be destroyed first.
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bool open = false;
  std::optional<tcp::resolver::results_type> endpoints;

  // Runs the asynchronous operation `start` begins (it is given the completion handler) to
  // its end on this thread. Asynchronous underneath only because Beast's per-operation
  // timeouts (tcp_stream::expires_after) exist for asynchronous operations alone.
  template <class Start>
  beast::error_code run(Start&& start) {
    bool done = false;
    beast::error_code result;
    if (ioc.stopped()) ioc.restart();
    start([&done, &result](beast::error_code ec, auto&&...) {
      result = ec;
      done = true;
    });
    while (!done && ioc.run_one() > 0) {
    }
    return done ? result : beast::error_code(asio::error::operation_aborted);
  }

  std::string describe(const beast::error_code& ec) const {
    if (ec == beast::error::timeout) {
      char seconds[32];
      std::snprintf(seconds, sizeof(seconds), "%g", timeout_s);
      return "no data from " + target.text() + " for " + seconds + " s (--timeout)";
    }
    if (ec == bhttp::error::end_of_stream) return target.text() + " closed the connection";
    return target.text() + ": " + ec.message();
  }

  void close() {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
    buffer.clear();
    open = false;
  }

  Status connect() {
    if (open) return Status();
    if (!endpoints) {
      tcp::resolver resolver(ioc);
      tcp::resolver::results_type found;
      const beast::error_code ec = run([&](auto handler) {
        resolver.async_resolve(
            target.host, target.port,
            [&found, handler](beast::error_code e, tcp::resolver::results_type r) mutable {
              found = std::move(r);
              handler(e);
            });
      });
      if (ec) {
        return Status(ErrorCode::kUnavailable,
                      "cannot resolve " + target.host + ": " + ec.message());
      }
      endpoints = std::move(found);
    }
    stream.expires_after(timeout);
    const beast::error_code ec =
        run([&](auto handler) { stream.async_connect(*endpoints, handler); });
    if (ec) {
      close();
      return Status(ErrorCode::kUnavailable,
                    "cannot connect to " + target.text() + ": " +
                        (ec == beast::error::timeout ? "timed out" : ec.message()));
    }
    beast::error_code ignored;
    // The request goes out in one write, but without this a small write after another could
    // wait for a delayed ACK.
    stream.socket().set_option(tcp::no_delay(true), ignored);
    buffer.clear();
    open = true;
    return Status();
  }

  bhttp::request<bhttp::string_body> request(bhttp::verb verb, const std::string& path) const {
    bhttp::request<bhttp::string_body> req{verb, path, 11};
    req.set(bhttp::field::host, target.text());
    req.set(bhttp::field::user_agent, kUserAgent);
    if (!api_key.empty()) req.set(bhttp::field::authorization, "Bearer " + api_key);
    req.keep_alive(true);
    return req;
  }

  // Connects if needed, writes `req` and reads the response header into a fresh `parser`;
  // `sent` is set just before the write. A reused connection that fails before any response
  // byte (the server closed it while idle) is retried once on a new one.
  template <class Body>
  Status send(bhttp::request<bhttp::string_body>& req,
              std::optional<bhttp::response_parser<Body>>& parser, Clock::time_point& sent) {
    for (int attempt = 0;; ++attempt) {
      const bool reused = open;
      TS_RETURN_IF_ERROR(connect());
      parser.emplace();
      parser->body_limit(std::numeric_limits<std::uint64_t>::max());  // streams are long
      sent = Clock::now();
      stream.expires_after(timeout);
      beast::error_code ec = run([&](auto handler) { bhttp::async_write(stream, req, handler); });
      if (!ec) {
        stream.expires_after(timeout);
        ec = run([&](auto handler) { bhttp::async_read_header(stream, buffer, *parser, handler); });
      }
      if (!ec) return Status();
      close();
      if (reused && attempt == 0 && !parser->got_some()) continue;
      return Status(ErrorCode::kUnavailable, describe(ec));
    }
  }
};

HttpLoadClient::HttpLoadClient(HttpTarget target, std::string api_key, double io_timeout_s)
    : impl_(std::make_unique<Impl>()) {
  impl_->target = std::move(target);
  impl_->api_key = std::move(api_key);
  impl_->timeout_s = io_timeout_s;
  impl_->timeout =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(io_timeout_s));
}

HttpLoadClient::~HttpLoadClient() = default;

Status HttpLoadClient::connect() { return impl_->connect(); }

Result<HttpReply> HttpLoadClient::get(const std::string& path) {
  Impl& m = *impl_;
  auto req = m.request(bhttp::verb::get, path);
  std::optional<bhttp::response_parser<bhttp::string_body>> parser;
  Clock::time_point sent;
  TS_RETURN_IF_ERROR(m.send(req, parser, sent));
  m.stream.expires_after(m.timeout);
  const beast::error_code ec =
      m.run([&](auto handler) { bhttp::async_read(m.stream, m.buffer, *parser, handler); });
  if (ec) {
    m.close();
    return Status(ErrorCode::kUnavailable, m.describe(ec));
  }
  HttpReply reply;
  reply.status = parser->get().result_int();
  const bool keep_alive = parser->keep_alive();
  reply.body = parser->release().body();
  if (!keep_alive) m.close();
  return reply;
}

StreamResult HttpLoadClient::post_stream(const std::string& path, const std::string& json_body) {
  Impl& m = *impl_;
  StreamResult r;
  auto req = m.request(bhttp::verb::post, path);
  req.set(bhttp::field::content_type, "application/json");
  req.set(bhttp::field::accept, "text/event-stream");
  req.body() = json_body;
  req.prepare_payload();
  std::optional<bhttp::response_parser<bhttp::buffer_body>> parser;
  Clock::time_point t0;
  if (Status s = m.send(req, parser, t0); !s.ok()) {
    r.error = s.message();
    return r;
  }
  r.status = parser->get().result_int();
  SseStream sse;
  std::string error_body;  // a non-200 answer's body (its message goes into r.error)
  char buf[16 * 1024];
  // read_some, not read: it returns as soon as some bytes were parsed, so each event is timed
  // when it arrives rather than when a buffer fills.
  while (!parser->is_done()) {
    parser->get().body().data = buf;
    parser->get().body().size = sizeof(buf);
    m.stream.expires_after(m.timeout);
    beast::error_code ec =
        m.run([&](auto handler) { bhttp::async_read_some(m.stream, m.buffer, *parser, handler); });
    if (ec == bhttp::error::need_buffer) ec = {};  // buf is full: not an error
    const double t = seconds_since(t0);
    const size_t n = sizeof(buf) - parser->get().body().size;
    if (r.status == 200) {
      sse.feed(buf, n, t, r);
    } else if (error_body.size() < 4096) {
      error_body.append(buf, n);
    }
    if (ec) {
      m.close();
      r.error = "stream broken after " + std::to_string(t).substr(0, 5) + " s: " + m.describe(ec);
      return r;
    }
  }
  if (!parser->keep_alive()) m.close();
  if (r.status != 200) {
    r.error = "HTTP " + std::to_string(r.status) + ": " + api_error_message(error_body);
    return r;
  }
  sse.finish(r);
  return r;
}

}  // namespace trimserve::cli
