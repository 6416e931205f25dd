// HttpRequest: one complete request as the HTTP server hands it to a Handler. Plain data,
// owned by the handler; nothing in it refers back to the connection.
#pragma once

#include <map>
#include <string>

namespace trimserve::http {

struct HttpRequest {
  std::string method;  // "GET", "POST", ... exactly as sent (methods are case-sensitive)
  std::string target;  // raw request target, query included: "/v1/models?x=1"
  std::string path;    // target without the query: "/v1/models"
  // Field names lowercased. A field sent more than once holds its values joined by ", "
  // (RFC 9110 §5.3). Values may hold secrets (Authorization): never log them.
  std::map<std::string, std::string> headers;
  std::string body;
  std::string remote;  // peer address: "127.0.0.1:54321", "[::1]:54321"

  // The value of the field `lower_name` (which must be lowercase), "" if absent.
  std::string header(const std::string& lower_name) const;
};

}  // namespace trimserve::http
