// Fuzz target: the HTTP request parser and the JSON request decoding behind it — bytes fed in
// pieces to the Connection's parser (request_parsing.h, the daemon's limits), the parsed
// message converted to an HttpRequest, and its body decoded as a chat completion and as a
// completion request (as the OpenAI routes do). The first input byte picks the piece size.
// Any crash, sanitizer report or hang is a finding; refusals are the expected outcome.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/asio/buffer.hpp>

#include "server/api/chat_request.h"
#include "server/api/completion_request.h"
#include "server/http/request_parsing.h"

using namespace trimserve;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 64;
  ++data;
  --size;
  http::HttpLimits limits;
  limits.max_body_bytes = 64 << 10;
  limits.max_header_bytes = 8 << 10;
  http::RequestParser parser;
  http::limit_request_parser(parser, limits);
  std::string pending;
  size_t offset = 0;
  boost::beast::error_code ec;
  while (!parser.is_done() && (offset < size || !pending.empty())) {
    const size_t n = std::min(piece, size - offset);
    pending.append(reinterpret_cast<const char*>(data) + offset, n);
    offset += n;
    const size_t used = parser.put(boost::asio::buffer(pending), ec);
    pending.erase(0, used);
    if (ec == boost::beast::http::error::need_more) {
      ec = {};
      if (offset >= size) break;
      continue;
    }
    if (ec) return 0;  // answered 400/413/431 by the server
  }
  if (!parser.is_done()) return 0;
  http::HttpRequest request = http::to_http_request(parser.get(), "127.0.0.1:1");
  (void)request.header("authorization");
  constexpr int64_t kVocab = 6144;
  (void)api::parse_chat_request(request.body, kVocab);
  (void)api::parse_completion_request(request.body, kVocab);
  return 0;
}
