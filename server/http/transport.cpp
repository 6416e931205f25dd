#include "server/http/transport.h"

#include <boost/asio/post.hpp>

namespace trimserve::http {

void Transport::async_handshake(std::function<void(boost::system::error_code)> done) {
  if (!tls_) {
    boost::asio::post(socket_.get_executor(),
                      [done = std::move(done)] { done(boost::system::error_code()); });
    return;
  }
  tls_->async_handshake(boost::asio::ssl::stream_base::server, std::move(done));
}

void Transport::shutdown_send(boost::system::error_code& ec) {
  socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
}

void Transport::close() {
  boost::system::error_code ignored;
  socket_.close(ignored);
}

}  // namespace trimserve::http
