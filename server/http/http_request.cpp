#include "server/http/http_request.h"

namespace trimserve::http {

std::string HttpRequest::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

}  // namespace trimserve::http
