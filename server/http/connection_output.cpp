// Connection, write side: the handler's answers (via ExchangeWriter), the transport's own
// error replies, the write queue, and what follows a complete response.
#include "server/http/connection.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/write.hpp>

#include "common/logging.h"

namespace trimserve::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

// Text that could end a header line early (header injection) or be truncated at a NUL.
bool is_clean(const std::string& text) {
  return text.find_first_of(std::string("\r\n\0", 3)) == std::string::npos;
}

bool asks_to_close(const std::string& connection_value) {
  std::string lower = connection_value;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.find("close") != std::string::npos;
}

// Sets the fields of every response and the handler's own (see response_writer.h for which
// are dropped). Returns false when the handler asked to close the connection afterwards.
bool set_fields(bhttp::fields& fields, const std::string& content_type,
                const HeaderList& headers) {
  fields.set(bhttp::field::server, "trimserve");
  if (!content_type.empty() && is_clean(content_type)) {
    fields.set(bhttp::field::content_type, content_type);
  }
  bool keep_alive = true;
  for (const auto& [name, value] : headers) {
    if (name.empty() || !is_clean(name) || !is_clean(value)) continue;
    if (beast::iequals(name, "connection")) {
      if (asks_to_close(value)) keep_alive = false;
      continue;
    }
    if (beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding") ||
        beast::iequals(name, "server")) {
      continue;
    }
    fields.insert(name, value);  // insert, not set: a field may repeat (Set-Cookie)
  }
  return keep_alive;
}

// Statuses a handler may send as a final response; anything else becomes 500.
int checked_status(int status) { return status >= 200 && status <= 599 ? status : 500; }

bool has_no_body(int status) { return status == 204 || status == 304; }

}  // namespace

bool Connection::answerable(uint64_t exchange) const {
  return exchange == exchange_ && exchange_open_ && phase_ == Phase::kHandling;
}

bool Connection::will_keep_alive() const { return keep_alive_ && !context_->draining(); }

void Connection::send(uint64_t exchange, int status, std::string content_type, std::string body,
                      HeaderList headers) {
  if (!answerable(exchange) || reply_ != Reply::kNone) return;
  reply_ = Reply::kComplete;
  status = checked_status(status);
  Outgoing item;
  item.ends_response = true;
  if (head_request_) {
    // A HEAD response announces the length the GET would have but carries no body.
    item.kind = Outgoing::Kind::kHead;
    item.head = std::make_unique<Outgoing::Head>();
    auto& message = item.head->message;
    message.result(static_cast<unsigned>(status));
    message.version(version_);
    if (!set_fields(message, content_type, headers)) keep_alive_ = false;
    if (!has_no_body(status)) message.content_length(body.size());
    message.keep_alive(will_keep_alive());
  } else {
    item.kind = Outgoing::Kind::kMessage;
    item.message = std::make_unique<bhttp::response<bhttp::string_body>>();
    auto& message = *item.message;
    message.result(static_cast<unsigned>(status));
    message.version(version_);
    if (!set_fields(message, content_type, headers)) keep_alive_ = false;
    if (!has_no_body(status)) message.body() = std::move(body);
    message.prepare_payload();
    message.keep_alive(will_keep_alive());
  }
  queue(std::move(item));
}

void Connection::begin_stream(uint64_t exchange, int status, std::string content_type,
                              HeaderList headers) {
  if (!answerable(exchange) || reply_ != Reply::kNone) return;
  reply_ = Reply::kStreaming;
  Outgoing item;
  item.kind = Outgoing::Kind::kHead;
  item.head = std::make_unique<Outgoing::Head>();
  auto& message = item.head->message;
  message.result(static_cast<unsigned>(checked_status(status)));
  message.version(version_);
  if (!set_fields(message, content_type, headers)) keep_alive_ = false;
  if (version_ >= 11) {
    message.chunked(true);
  } else {
    // HTTP/1.0 has no chunked coding: the body is the bytes up to the close.
    raw_stream_ = true;
    keep_alive_ = false;
  }
  message.keep_alive(will_keep_alive());
  queue(std::move(item));
}

void Connection::write_chunk(uint64_t exchange, std::string chunk,
                             std::function<void()> written) {
  if (!answerable(exchange) || reply_ != Reply::kStreaming) return;
  Outgoing item;
  item.kind = raw_stream_ ? Outgoing::Kind::kBytes : Outgoing::Kind::kChunk;
  if (!head_request_) item.bytes = std::move(chunk);
  item.written = std::move(written);
  queue(std::move(item));
}

void Connection::end_stream(uint64_t exchange) {
  if (!answerable(exchange) || reply_ != Reply::kStreaming) return;
  reply_ = Reply::kComplete;
  Outgoing item;
  item.kind = raw_stream_ || head_request_ ? Outgoing::Kind::kBytes : Outgoing::Kind::kLastChunk;
  item.ends_response = true;
  queue(std::move(item));
}

void Connection::add_on_close(uint64_t exchange, std::function<void()> callback,
                              const std::atomic<bool>& lost) {
  if (!callback) return;
  if (exchange == exchange_ && exchange_open_) {
    on_close_.push_back(std::move(callback));
  } else if (lost.load()) {
    callback();
  }
}

void Connection::abandon(uint64_t exchange) {
  if (!answerable(exchange)) return;
  if (reply_ == Reply::kNone) {
    TransportError error = no_response_error();
    context_->transport_error(error.status);
    send(exchange, error.status, "application/json", std::move(error.body), {});
  } else if (reply_ == Reply::kStreaming) {
    // The stream cannot be finished honestly: closing without the last chunk shows the
    // client that the response is incomplete.
    named_logger("http")->debug("stream to {} abandoned unfinished", remote_);
    close_now();
  }
}

void Connection::final_reply(const TransportError& error, HeaderList headers) {
  context_->transport_error(error.status);
  parser_.reset();
  phase_ = Phase::kFinalReply;
  disarm_deadline();
  keep_alive_ = false;
  Outgoing item;
  item.kind = Outgoing::Kind::kMessage;
  item.message = std::make_unique<bhttp::response<bhttp::string_body>>();
  auto& message = *item.message;
  message.result(static_cast<unsigned>(error.status));
  message.version(version_ >= 11 ? 11 : 10);
  set_fields(message, "application/json", headers);
  message.body() = error.body;
  message.prepare_payload();
  message.keep_alive(false);
  item.ends_response = true;
  queue(std::move(item));
  ensure_reading();  // keep accepting what the client still sends, so it gets to our answer
}

void Connection::queue(Outgoing item) {
  if (phase_ == Phase::kClosed) return;
  queue_.push_back(std::move(item));
  write_next();
}

void Connection::write_next() {
  while (!writing_ && !queue_.empty() && phase_ != Phase::kClosed) {
    if (queue_.front().nothing_to_write()) {
      finish_front();
      continue;
    }
    writing_ = true;
    start_write(queue_.front());
  }
}

void Connection::start_write(Outgoing& item) {
  write_deadline_.expires_after(to_duration(context_->limits().write_timeout_s));
  uint64_t generation = ++write_generation_;
  write_deadline_.async_wait([self = shared_from_this(), generation](beast::error_code ec) {
    // The write aborts; on_write then sees kClosed.
    if (!ec && generation == self->write_generation_ && self->writing_) self->close_now();
  });
  auto done = [self = shared_from_this()](beast::error_code ec, std::size_t) {
    self->on_write(ec);
  };
  switch (item.kind) {
    case Outgoing::Kind::kMessage:
      bhttp::async_write(stream_, *item.message, std::move(done));
      return;
    case Outgoing::Kind::kHead:
      item.head->serializer.emplace(item.head->message);
      bhttp::async_write_header(stream_, *item.head->serializer, std::move(done));
      return;
    case Outgoing::Kind::kBytes:
      asio::async_write(stream_, asio::buffer(item.bytes), std::move(done));
      return;
    case Outgoing::Kind::kChunk:
      asio::async_write(stream_, bhttp::make_chunk(asio::buffer(item.bytes)), std::move(done));
      return;
    case Outgoing::Kind::kLastChunk:
      asio::async_write(stream_, bhttp::make_chunk_last(), std::move(done));
      return;
  }
}

void Connection::on_write(beast::error_code ec) {
  writing_ = false;
  ++write_generation_;
  write_deadline_.cancel();
  if (phase_ == Phase::kClosed) {
    // The item close_now() kept for this write can go now: its `written` callback may hold
    // the exchange's producer, which holds a writer, which holds this connection — a cycle
    // that would outlive the connection (LeakSanitizer found it).
    queue_.clear();
    return;
  }
  if (ec) {
    if (!is_routine(ec)) named_logger("http")->debug("write to {}: {}", remote_, ec.message());
    close_now();
    return;
  }
  finish_front();
  write_next();
}

void Connection::finish_front() {
  Outgoing done = std::move(queue_.front());
  queue_.pop_front();
  if (done.written) done.written();
  if (done.ends_response) after_response();
}

void Connection::after_response() {
  exchange_open_ = false;
  on_close_.clear();  // the client got the whole response: these never run
  if (phase_ == Phase::kHandling && will_keep_alive()) {
    begin_request();
  } else {
    linger();
  }
}

void Connection::lose_exchange() {
  if (!exchange_open_) return;
  exchange_open_ = false;
  exchange_lost_->store(true);
  std::vector<std::function<void()>> callbacks = std::move(on_close_);
  on_close_.clear();
  for (auto& callback : callbacks) callback();
}

}  // namespace trimserve::http
