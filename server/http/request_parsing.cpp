#include "server/http/request_parsing.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>
#include <utility>

namespace trimserve::http {

void limit_request_parser(RequestParser& parser, const HttpLimits& limits) {
  parser.body_limit(static_cast<uint64_t>(std::max<int64_t>(limits.max_body_bytes, 0)));
  parser.header_limit(static_cast<uint32_t>(
      std::clamp<int64_t>(limits.max_header_bytes, 1, std::numeric_limits<uint32_t>::max())));
}

HttpRequest to_http_request(RequestMessage& message, const std::string& remote) {
  HttpRequest request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  request.path = request.target.substr(0, request.target.find('?'));
  for (const auto& field : message) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto [it, inserted] = request.headers.emplace(std::move(name), std::string(field.value()));
    if (!inserted) {
      it->second += ", ";
      it->second.append(field.value().data(), field.value().size());
    }
  }
  request.body = std::move(message.body());
  request.remote = remote;
  return request;
}

}  // namespace trimserve::http
