// Outgoing: one entry of a connection's write queue — a whole response, a stream's head, a
// chunk, the last chunk, or raw bytes — with what to do once the socket accepted it.
// Owned by the queue; the entry being written stays at its front until the write completes,
// because the write refers to the entry's storage.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>

namespace trimserve::http {

struct Outgoing {
  // A response's status line and fields only: the head of a stream, or a HEAD response. The
  // serializer is made when the write starts, once the message is final.
  struct Head {
    boost::beast::http::response<boost::beast::http::empty_body> message;
    std::optional<boost::beast::http::response_serializer<boost::beast::http::empty_body>>
        serializer;
  };
  enum class Kind {
    kMessage,    // a complete response (`message`)
    kHead,       // `head`
    kBytes,      // `bytes` as they are (100 Continue, an HTTP/1.0 stream's data); may be empty
    kChunk,      // `bytes` as one chunk; skipped when empty (a 0-size chunk ends a stream)
    kLastChunk,  // the terminating chunk
  };
  Kind kind = Kind::kBytes;
  std::unique_ptr<boost::beast::http::response<boost::beast::http::string_body>> message;
  std::unique_ptr<Head> head;
  std::string bytes;
  std::function<void()> written;  // runs on the strand once the socket accepted the item
  bool ends_response = false;     // the exchange is complete once this item is written

  bool nothing_to_write() const {
    return (kind == Kind::kBytes || kind == Kind::kChunk) && bytes.empty();
  }
};

}  // namespace trimserve::http
