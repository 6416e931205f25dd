// Request parsing: how a Connection turns bytes into an HttpRequest — a Beast request parser
// bounded by HttpLimits (header block and body size), and the parsed message converted to the
// plain HttpRequest the Handler gets (field names lowercased, repeated fields joined). Kept
// apart from the socket code so the HTTP fuzz target (tests/fuzz) runs exactly this.
#pragma once

#include <string>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "server/http/http_limits.h"
#include "server/http/http_request.h"

namespace trimserve::http {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;
using RequestMessage = boost::beast::http::request<boost::beast::http::string_body>;

// Sets the parser's header and body limits from `limits` (negative sizes count as 0; the header
// limit is at least 1 byte).
void limit_request_parser(RequestParser& parser, const HttpLimits& limits);

// The handler's view of a parsed message (its body moved out). `remote` is the peer address.
HttpRequest to_http_request(RequestMessage& message, const std::string& remote);

}  // namespace trimserve::http
