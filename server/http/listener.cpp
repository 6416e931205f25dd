#include "server/http/listener.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <utility>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include "common/logging.h"
#include "server/http/connection.h"

namespace trimserve::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

// After an accept error that is not ours to fix (out of file descriptors, say), wait this
// long before trying again instead of spinning.
constexpr std::chrono::milliseconds kAcceptRetryDelay{50};

}  // namespace

Listener::Listener(std::shared_ptr<ServerContext> context)
    : context_(std::move(context)),
      strand_(asio::make_strand(context_->io())),
      acceptor_(strand_),
      retry_timer_(strand_) {}

Status Listener::open(const std::string& host, int port) {
  auto fail = [&](const beast::error_code& ec) {
    return Status(ErrorCode::kUnavailable, "cannot listen on " + host + ":" +
                                               std::to_string(port) + ": " + ec.message());
  };
  beast::error_code ec;
  tcp::resolver resolver(context_->io());
  auto endpoints = resolver.resolve(host, std::to_string(port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec) return fail(ec);
  if (endpoints.empty()) return fail(asio::error::host_not_found);
  tcp::endpoint endpoint = endpoints.begin()->endpoint();

  acceptor_.open(endpoint.protocol(), ec);
  if (ec) return fail(ec);
  // Lets a restarted daemon bind while old connections sit in TIME_WAIT; on Linux it does not
  // let two sockets listen on one port, so "Address already in use" is still reported.
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) port_ = acceptor_.local_endpoint(ec).port();
  if (ec) {
    beast::error_code ignored;
    acceptor_.close(ignored);
    return fail(ec);
  }
  return Status::ok_status();
}

void Listener::start() {
  asio::post(strand_, [self = shared_from_this()] { self->accept_next(); });
}

void Listener::close() {
  asio::post(strand_, [self = shared_from_this()] {
    self->closed_ = true;
    beast::error_code ignored;
    self->acceptor_.close(ignored);
    self->retry_timer_.cancel();
  });
}

void Listener::accept_next() {
  if (closed_) return;
  acceptor_.async_accept(asio::make_strand(context_->io()),
                         [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                           self->on_accept(ec, std::move(socket));
                         });
}

void Listener::on_accept(beast::error_code ec, tcp::socket socket) {
  if (closed_) return;
  if (ec) {
    named_logger("http")->debug("accept: {}", ec.message());
    retry_timer_.expires_after(kAcceptRetryDelay);
    retry_timer_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
      if (!wait_ec) self->accept_next();
    });
    return;
  }
  // While draining too: such a connection gets one answer, then closes (no keep-alive).
  bool admitted = context_->try_admit();
  auto connection = std::make_shared<Connection>(context_, std::move(socket), admitted);
  // Not added once stopping: the connection then closes as it dies, right here.
  if (context_->add(connection)) connection->start();
  accept_next();
}

}  // namespace trimserve::http
