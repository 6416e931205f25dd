// Transport: the byte stream under one HTTP connection — the accepted TCP socket, or a TLS
// session over it when the server has a TLS context (server.tls). Connection reads and
// writes only through it, so HTTP parsing, limits, streaming and deadlines are the same code
// for both.
//
// It is an Asio AsyncReadStream and AsyncWriteStream (Beast's http::async_write takes it),
// with no timers of its own: Connection arms its deadlines itself and close()s the transport
// when one fires, which aborts whatever operation is outstanding. One read and one write may
// be outstanding at once (the TLS engine supports that full-duplex use), both issued from the
// connection's strand.
//
// Closing: shutdown_send() ends the sending direction at the TCP level. Under TLS no
// close_notify is sent first: waiting for the peer's answer to one would hold the connection
// open at the client's mercy, and every response the daemon writes is framed (length or
// chunked) so a client can tell a complete one from a cut.
#pragma once

#include <functional>
#include <optional>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/system/error_code.hpp>

namespace trimserve::http {

class Transport {
 public:
  using executor_type = boost::asio::any_io_executor;

  // `tls` null: plain TCP.
  Transport(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context* tls)
      : socket_(std::move(socket)) {
    if (tls != nullptr) tls_.emplace(socket_, *tls);
  }
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  executor_type get_executor() { return socket_.get_executor(); }
  boost::asio::ip::tcp::socket& socket() { return socket_; }
  bool is_tls() const { return tls_.has_value(); }

  // The TLS server handshake; completes at once (posted) with no error on plain TCP.
  void async_handshake(std::function<void(boost::system::error_code)> done);

  template <class MutableBuffers, class Handler>
  void async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_read_some(buffers, std::forward<Handler>(handler));
    } else {
      socket_.async_read_some(buffers, std::forward<Handler>(handler));
    }
  }

  template <class ConstBuffers, class Handler>
  void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_write_some(buffers, std::forward<Handler>(handler));
    } else {
      socket_.async_write_some(buffers, std::forward<Handler>(handler));
    }
  }

  void shutdown_send(boost::system::error_code& ec);
  void close();

 private:
  boost::asio::ip::tcp::socket socket_;
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
};

}  // namespace trimserve::http
