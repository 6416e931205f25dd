// Connection, read side and lifecycle: accept to close, request parsing, deadlines, dispatch.
// The write side is in connection_output.cpp.
#include "server/http/connection.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <exception>
#include <limits>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>

#include "common/logging.h"
#include "server/http/exchange_writer.h"
#include "server/http/request_parsing.h"

namespace trimserve::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

// After our last response: how long to keep reading (and discarding) before closing, so the
// client can read the response before unread bytes make the close a reset.
constexpr double kLingerSeconds = 2.0;

// While a handler owns the response, a pipelined next request is read ahead up to this many
// bytes (or max_header_bytes, if larger); then reading pauses until the response is done.
constexpr size_t kMinReadAhead = 64 * 1024;

std::string endpoint_text(const tcp::socket& socket) {
  beast::error_code ec;
  tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  asio::ip::address address = peer.address();
  std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(peer.port());
}

}  // namespace

Connection::Connection(std::shared_ptr<ServerContext> context, tcp::socket socket, bool admitted)
    : context_(std::move(context)),
      strand_(socket.get_executor()),
      stream_(std::move(socket), context_->tls()),
      deadline_(strand_),
      write_deadline_(strand_),
      admitted_(admitted),
      remote_(endpoint_text(stream_.socket())) {
  // Streams are many small writes (a token each): without this, Nagle's algorithm holds each
  // one back until the client's delayed ACK of the previous one, ~40 ms on Linux.
  beast::error_code ignored;
  stream_.socket().set_option(tcp::no_delay(true), ignored);
}

Connection::~Connection() {
  // Normally close_now() already ran. If not (the last owner let go while the connection was
  // still open), settle the books here; the stream's destructor closes the socket.
  if (phase_ != Phase::kClosed) {
    lose_exchange();
    release();
  }
}

void Connection::start() {
  asio::post(strand_, [self = shared_from_this()] {
    if (self->phase_ == Phase::kClosed) return;  // stop() came first
    if (!self->admitted_) {
      self->final_reply(too_many_connections_error(self->context_->limits().max_connections),
                        {{"Retry-After", "1"}});
      return;
    }
    if (!self->stream_.is_tls()) {
      self->begin_request();
      return;
    }
    self->arm_deadline(self->context_->limits().read_timeout_s);
    self->stream_.async_handshake([self](beast::error_code ec) { self->on_handshake(ec); });
  });
}

void Connection::on_handshake(beast::error_code ec) {
  if (phase_ == Phase::kClosed) return;  // deadline, drain or stop came first
  if (ec) {
    if (!is_routine(ec)) named_logger("http")->debug("TLS handshake with {}: {}", remote_, ec.message());
    close_now();
    return;
  }
  begin_request();
}

void Connection::drain() {
  asio::post(strand_, [self = shared_from_this()] { self->on_drain(); });
}

void Connection::close() {
  asio::post(strand_, [self = shared_from_this()] { self->close_now(); });
}

void Connection::on_drain() {
  bool between_requests =
      phase_ == Phase::kIdle || (phase_ == Phase::kReceiving && !request_started());
  if (between_requests) close_now();
  // Otherwise after_response() sees context_->draining() and closes after this response.
}

void Connection::begin_request() {
  const HttpLimits& limits = context_->limits();
  parser_.emplace();
  limit_request_parser(*parser_, limits);
  continue_sent_ = false;
  version_ = 11;  // until a request line says otherwise (error replies use it)
  reply_ = Reply::kNone;
  head_request_ = false;
  raw_stream_ = false;
  if (!first_request_ && buffer_.size() == 0) {
    phase_ = Phase::kIdle;
    arm_deadline(limits.idle_timeout_s);
    ensure_reading();
    return;
  }
  first_request_ = false;
  phase_ = Phase::kReceiving;
  arm_deadline(limits.read_timeout_s);
  parse_buffered();
}

void Connection::ensure_reading() {
  if (read_pending_ || phase_ == Phase::kClosed) return;
  if (phase_ == Phase::kHandling) {
    int64_t header_bytes = std::max<int64_t>(context_->limits().max_header_bytes, 0);
    if (buffer_.size() >= std::max(kMinReadAhead, static_cast<size_t>(header_bytes))) {
      return;  // enough read ahead; reading resumes with the next request
    }
  }
  read_pending_ = true;
  stream_.async_read_some(
      asio::buffer(read_chunk_),
      [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
        self->on_read(ec, bytes);
      });
}

void Connection::on_read(beast::error_code ec, std::size_t bytes) {
  read_pending_ = false;
  if (phase_ == Phase::kClosed) return;
  if (ec) {
    // A client that half-closes after a request we are rejecting still gets our answer.
    if (ec == asio::error::eof && phase_ == Phase::kFinalReply) return;
    if (!is_routine(ec)) named_logger("http")->debug("read from {}: {}", remote_, ec.message());
    close_now();
    return;
  }
  switch (phase_) {
    case Phase::kFinalReply:
    case Phase::kLingering:
      ensure_reading();  // discarded
      return;
    case Phase::kIdle:
      phase_ = Phase::kReceiving;
      arm_deadline(context_->limits().read_timeout_s);
      [[fallthrough]];
    case Phase::kReceiving:
    case Phase::kHandling:
      buffer_.commit(asio::buffer_copy(buffer_.prepare(bytes), asio::buffer(read_chunk_, bytes)));
      if (phase_ == Phase::kReceiving) {
        parse_buffered();
      } else {
        ensure_reading();
      }
      return;
    case Phase::kClosed:
      return;
  }
}

void Connection::parse_buffered() {
  while (buffer_.size() > 0 && !parser_->is_done()) {
    beast::error_code ec;
    size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == bhttp::error::need_more) break;
    if (ec) {
      reject(ec);
      return;
    }
    if (used == 0) break;
  }
  if (parser_->is_done()) {
    dispatch();
    return;
  }
  maybe_send_continue();
  ensure_reading();
}

void Connection::maybe_send_continue() {
  // curl and others wait (about a second) for "100 Continue" before sending a large body.
  // Sent only once the header passed the limits: a too-large body is refused without it.
  if (continue_sent_ || !parser_->is_header_done()) return;
  continue_sent_ = true;
  const auto& request = parser_->get();
  if (request.version() < 11 || !beast::iequals(request[bhttp::field::expect], "100-continue")) {
    return;
  }
  Outgoing item;
  item.kind = Outgoing::Kind::kBytes;
  item.bytes = "HTTP/1.1 100 Continue\r\n\r\n";
  queue(std::move(item));
}

void Connection::reject(beast::error_code parse_error) {
  const HttpLimits& limits = context_->limits();
  if (parser_->is_header_done()) version_ = parser_->get().version();
  if (parse_error == bhttp::error::body_limit) {
    final_reply(body_too_large_error(limits.max_body_bytes));
  } else if (parse_error == bhttp::error::header_limit) {
    final_reply(headers_too_large_error(limits.max_header_bytes));
  } else {
    final_reply(bad_request_error(parse_error.message()));
  }
}

void Connection::dispatch() {
  auto& message = parser_->get();
  HttpRequest request = to_http_request(message, remote_);
  keep_alive_ = message.keep_alive();
  version_ = message.version();
  head_request_ = message.method() == bhttp::verb::head;
  parser_.reset();

  phase_ = Phase::kHandling;
  disarm_deadline();  // the handler owns the response now: no timeout
  ++exchange_;
  exchange_open_ = true;
  exchange_lost_ = std::make_shared<std::atomic<bool>>(false);
  ensure_reading();  // notices the client leaving while the handler works

  uint64_t exchange = exchange_;
  try {
    auto writer = std::make_shared<ExchangeWriter>(shared_from_this(), exchange, exchange_lost_);
    context_->handler()(std::move(request), std::move(writer));
  } catch (const std::exception& e) {
    named_logger("http")->debug("request handler threw: {}", e.what());
    abandon(exchange);
  } catch (...) {
    named_logger("http")->debug("request handler threw a non-exception");
    abandon(exchange);
  }
}

bool Connection::request_started() const {
  return buffer_.size() > 0 || (parser_ && parser_->got_some());
}

void Connection::arm_deadline(double seconds) {
  uint64_t generation = ++deadline_generation_;
  deadline_.expires_after(to_duration(seconds));
  deadline_.async_wait([self = shared_from_this(), generation](beast::error_code ec) {
    if (ec || generation != self->deadline_generation_) return;
    self->on_deadline();
  });
}

void Connection::disarm_deadline() {
  ++deadline_generation_;
  deadline_.cancel();
}

void Connection::on_deadline() {
  switch (phase_) {
    case Phase::kReceiving:
      if (request_started()) {
        if (parser_->is_header_done()) version_ = parser_->get().version();
        final_reply(request_timeout_error(context_->limits().read_timeout_s));
      } else {
        close_now();
      }
      return;
    case Phase::kIdle:
    case Phase::kLingering:
      close_now();
      return;
    case Phase::kHandling:
    case Phase::kFinalReply:
    case Phase::kClosed:
      return;  // no deadline is armed in these phases
  }
}

void Connection::linger() {
  phase_ = Phase::kLingering;
  beast::error_code ec;
  stream_.shutdown_send(ec);
  if (ec) {
    close_now();
    return;
  }
  buffer_.clear();
  arm_deadline(std::min(kLingerSeconds, context_->limits().read_timeout_s));
  ensure_reading();
}

void Connection::close_now() {
  if (phase_ == Phase::kClosed) return;
  phase_ = Phase::kClosed;
  disarm_deadline();
  write_deadline_.cancel();
  stream_.close();
  // The item being written must outlive its (now cancelled) write; the rest never will be.
  while (queue_.size() > (writing_ ? 1u : 0u)) queue_.pop_back();
  parser_.reset();
  lose_exchange();
  release();
}

bool Connection::is_routine(const beast::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::operation_aborted ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == beast::error::timeout;
}

std::chrono::steady_clock::duration Connection::to_duration(double seconds) {
  // Clamped: a zero or negative limit would fire at once, a huge one would overflow.
  double clamped = std::clamp(seconds, 0.001, 1e9);
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(clamped));
}

void Connection::release() {
  if (released_) return;
  released_ = true;
  context_->remove(this);
  if (admitted_) context_->release();
}

}  // namespace trimserve::http
