// Connection: one accepted HTTP/1.1 socket — reading and parsing requests under the limits,
// handing each to the Handler, writing its response, keep-alive, and closing.
//
// Life of a connection (Phase):
//   kReceiving  a request is arriving; the read deadline (limits.read_timeout_s) runs from
//               accept for the first request, from the first byte for later ones. Errors:
//               413 body too large (declared length checked before the body is read), 431
//               header block too large, 400 malformed, 408 deadline with a partial request
//               (deadline with nothing received: closed quietly).
//   kHandling   the handler owns the response; no deadline. The socket is still read, so the
//               client leaving (EOF or error) is seen at once, not at the next write: the
//               response is then abandoned and on_close callbacks run. Bytes of a pipelined
//               next request are kept (up to a cap) for later. A client that half-closes
//               (shutdown(SHUT_WR)) after its request therefore counts as gone — OpenAI SDKs,
//               curl and browsers do not do that.
//   kIdle       keep-alive, waiting for the next request's first byte (limits.idle_timeout_s,
//               then closed quietly).
//   kFinalReply the connection's last response (an error) is being written; input discarded.
//   kLingering  send side shut down; input read and discarded until the client closes or a
//               short deadline passes, so unread request bytes do not turn our close into a
//               reset that destroys the response before the client read it.
//   kClosed     socket closed; pending writes dropped; everything later is ignored.
//
// TLS: with a TLS context (server.tls) the connection starts with the server handshake, under
// the read deadline (a client that connects and never speaks is closed quietly, as in plain
// HTTP); a failed handshake closes quietly too (debug log). Everything after runs on the
// Transport unchanged.
//
// Timeouts: reads are deadline-checked by the connection's own timer, which answers 408 on a
// partial request (closing the socket first would leave nothing to send it on). Writes have
// a second timer (limits.write_timeout_s per write) that closes the connection: a client that
// stopped reading loses its response rather than holding the write queue forever.
//
// Writes: a queue of pending items, one async write at a time; a response's last item
// completes the exchange, then keep-alive decides between the next request and lingering.
//
// Threading: everything runs on the connection's strand. The public methods either post onto
// it (start, drain, close — any thread) or must be called on it (the exchange methods, which
// ExchangeWriter posts). Ownership: shared — pending operations and ExchangeWriters hold it.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "server/http/error_body.h"
#include "server/http/outgoing.h"
#include "server/http/request_parsing.h"
#include "server/http/response_writer.h"
#include "server/http/server_context.h"
#include "server/http/transport.h"

namespace trimserve::http {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // `socket` was accepted onto a strand of its own. `admitted`: counted against
  // max_connections (released when the connection closes); otherwise it answers 503.
  Connection(std::shared_ptr<ServerContext> context, boost::asio::ip::tcp::socket socket,
             bool admitted);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Any thread, once registered (ServerContext::add). Posts the first read, or the 503 of a
  // connection that was not admitted.
  void start();
  // Any thread, while the I/O threads run. drain(): close now if no request is in progress,
  // else once the current response is written. close(): close now (server stop).
  void drain();
  void close();

  ServerContext& context() { return *context_; }
  // The strand, as an executor to post to (immutable: safe to read from any thread).
  const boost::asio::any_io_executor& strand() const { return strand_; }

  // Strand only: ExchangeWriter's calls, each naming its exchange (one per request) so that a
  // stale writer cannot touch a later response. See response_writer.h for the semantics.
  void send(uint64_t exchange, int status, std::string content_type, std::string body,
            HeaderList headers);
  void begin_stream(uint64_t exchange, int status, std::string content_type, HeaderList headers);
  void write_chunk(uint64_t exchange, std::string chunk, std::function<void()> written);
  void end_stream(uint64_t exchange);
  // `lost` is the exchange's closed flag: for an exchange already over, the callback runs now
  // if the client was lost, and is dropped if the response completed.
  void add_on_close(uint64_t exchange, std::function<void()> callback,
                    const std::atomic<bool>& lost);
  // The exchange's writer is gone: 500 if it never answered, close if it left a stream open.
  void abandon(uint64_t exchange);

 private:
  enum class Phase { kReceiving, kHandling, kIdle, kFinalReply, kLingering, kClosed };
  enum class Reply { kNone, kStreaming, kComplete };  // what the handler has answered so far

  // Read side (connection.cpp).
  void on_handshake(boost::beast::error_code ec);
  void begin_request();
  void ensure_reading();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void parse_buffered();
  void maybe_send_continue();
  void reject(boost::beast::error_code parse_error);
  void dispatch();
  bool request_started() const;
  void arm_deadline(double seconds);
  void disarm_deadline();
  void on_deadline();
  void on_drain();
  void linger();
  void close_now();
  void release();
  // "The client went away" errors, not worth a log record.
  static bool is_routine(const boost::beast::error_code& ec);
  // A limit in seconds as a timer duration, clamped to [1 ms, 1e9 s].
  static std::chrono::steady_clock::duration to_duration(double seconds);

  // Write side (connection_output.cpp).
  bool answerable(uint64_t exchange) const;
  bool will_keep_alive() const;
  void final_reply(const TransportError& error, HeaderList headers = {});
  void queue(Outgoing item);
  void write_next();
  void start_write(Outgoing& item);
  void on_write(boost::beast::error_code ec);
  void finish_front();
  void after_response();
  void lose_exchange();

  // Declared first so it is destroyed last: the sockets and timers below need its io_context.
  const std::shared_ptr<ServerContext> context_;
  const boost::asio::any_io_executor strand_;
  Transport stream_;
  boost::asio::steady_timer deadline_;
  boost::asio::steady_timer write_deadline_;
  const bool admitted_;
  bool released_ = false;  // the registry entry and the admission are given back once
  std::string remote_;
  Phase phase_ = Phase::kReceiving;

  // Reading. Raw reads land in read_chunk_ and are appended to buffer_, so the parser may
  // consume buffer_ while a read is outstanding.
  std::array<char, 32 * 1024> read_chunk_;
  boost::beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  bool read_pending_ = false;
  bool first_request_ = true;
  bool continue_sent_ = false;
  uint64_t deadline_generation_ = 0;  // a timer wait is stale once this moved on

  // The current exchange (request and its response).
  uint64_t exchange_ = 0;
  bool exchange_open_ = false;  // the handler's response is not completely written yet
  Reply reply_ = Reply::kNone;
  std::shared_ptr<std::atomic<bool>> exchange_lost_;  // shared with the exchange's writer
  std::vector<std::function<void()>> on_close_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  bool head_request_ = false;
  bool raw_stream_ = false;  // an HTTP/1.0 client: stream data unframed, close at the end

  // Writing.
  std::deque<Outgoing> queue_;
  bool writing_ = false;
  uint64_t write_generation_ = 0;  // a write-deadline wait is stale once this moved on
};

}  // namespace trimserve::http
