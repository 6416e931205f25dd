#include "server/http/exchange_writer.h"

#include <utility>

#include "server/http/connection.h"
#include "server/http/server_context.h"

namespace trimserve::http {

ExchangeWriter::ExchangeWriter(std::shared_ptr<Connection> connection, uint64_t exchange,
                               std::shared_ptr<std::atomic<bool>> lost)
    : connection_(std::move(connection)), exchange_(exchange), lost_(std::move(lost)) {}

ExchangeWriter::~ExchangeWriter() {
  // Cheap when the exchange is over: abandon() ignores exchanges that are not open.
  if (lost_->load()) return;
  std::shared_ptr<Connection> connection = connection_;
  connection->context().post_if_running(
      connection->strand(),
      [connection, exchange = exchange_] { connection->abandon(exchange); });
}

template <class Fn>
void ExchangeWriter::post(Fn&& fn) {
  if (lost_->load()) return;  // the client is gone: nothing to do, save the trip
  connection_->context().post_if_running(
      connection_->strand(),
      [connection = connection_, fn = std::forward<Fn>(fn)]() mutable { fn(*connection); });
}

void ExchangeWriter::send(int status, std::string content_type, std::string body,
                          HeaderList headers) {
  post([exchange = exchange_, status, content_type = std::move(content_type),
        body = std::move(body), headers = std::move(headers)](Connection& c) mutable {
    c.send(exchange, status, std::move(content_type), std::move(body), std::move(headers));
  });
}

void ExchangeWriter::begin_stream(int status, std::string content_type, HeaderList headers) {
  post([exchange = exchange_, status, content_type = std::move(content_type),
        headers = std::move(headers)](Connection& c) mutable {
    c.begin_stream(exchange, status, std::move(content_type), std::move(headers));
  });
}

void ExchangeWriter::write(std::string chunk, std::function<void()> written) {
  post([exchange = exchange_, chunk = std::move(chunk),
        written = std::move(written)](Connection& c) mutable {
    c.write_chunk(exchange, std::move(chunk), std::move(written));
  });
}

void ExchangeWriter::end() {
  post([exchange = exchange_](Connection& c) { c.end_stream(exchange); });
}

bool ExchangeWriter::closed() const { return lost_->load(); }

void ExchangeWriter::on_close(std::function<void()> callback) {
  if (!callback) return;
  // Not through post(): a callback registered after the loss must still run (at once). Once
  // the server stopped (every open exchange is then lost) it runs here, on the caller's thread.
  bool posted = connection_->context().post_if_running(
      connection_->strand(),
      [connection = connection_, exchange = exchange_, lost = lost_, callback]() mutable {
        connection->add_on_close(exchange, std::move(callback), *lost);
      });
  if (!posted) callback();
}

}  // namespace trimserve::http
