// Listener: the listening socket and its accept loop. Each accepted socket gets a strand of
// its own and becomes a Connection — admitted against max_connections, or answered 503.
//
// Threading: open() on the caller's thread before start(); everything else runs on the
// listener's strand (start() and close() post onto it, from any thread, while the I/O threads
// run). Ownership: shared — the pending accept holds it.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "common/status.h"
#include "server/http/server_context.h"

namespace trimserve::http {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  explicit Listener(std::shared_ptr<ServerContext> context);

  // Resolves `host`, binds and listens. kUnavailable with the OS message on failure:
  // "cannot listen on 127.0.0.1:8080: Address already in use".
  Status open(const std::string& host, int port);
  int port() const { return port_; }  // the bound port; valid after open() succeeded

  void start();
  // Stops accepting; connects that were not accepted yet are refused by the kernel.
  void close();

 private:
  void accept_next();
  void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);

  const std::shared_ptr<ServerContext> context_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;  // paces accept retries after errors like EMFILE
  int port_ = 0;
  bool closed_ = false;
};

}  // namespace trimserve::http
