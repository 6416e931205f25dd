// ExchangeWriter: the ResponseWriter a Handler receives — one per request. It forwards every
// call onto its connection's strand, tagged with the request's exchange number, and owns the
// exchange's "client lost" flag so closed() needs no trip to the strand.
//
// Threading: all methods from any thread (see response_writer.h). Calls made after the server
// stopped are dropped (the connection was closed by stop() anyway).
// Ownership: holds its connection; its destructor tells the connection the handler let go
// (Connection::abandon: 500 if never answered, close if a stream was left open).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "server/http/response_writer.h"

namespace trimserve::http {

class Connection;

class ExchangeWriter final : public ResponseWriter {
 public:
  ExchangeWriter(std::shared_ptr<Connection> connection, uint64_t exchange,
                 std::shared_ptr<std::atomic<bool>> lost);
  ~ExchangeWriter() override;
  ExchangeWriter(const ExchangeWriter&) = delete;
  ExchangeWriter& operator=(const ExchangeWriter&) = delete;

  void send(int status, std::string content_type, std::string body,
            HeaderList headers = {}) override;
  void begin_stream(int status, std::string content_type, HeaderList headers = {}) override;
  void write(std::string chunk, std::function<void()> written = {}) override;
  void end() override;
  bool closed() const override;
  void on_close(std::function<void()> callback) override;

 private:
  // Posts `fn(connection)` onto the strand unless the server stopped.
  template <class Fn>
  void post(Fn&& fn);

  std::shared_ptr<Connection> connection_;
  const uint64_t exchange_;
  const std::shared_ptr<std::atomic<bool>> lost_;
};

}  // namespace trimserve::http
