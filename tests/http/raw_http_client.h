// Test helpers for the HTTP server: RawHttpClient, a deliberately independent HTTP/1.1 client
// (a POSIX socket and hand-written parsing of the status line, fields, Content-Length and
// chunked bodies — nothing shared with Beast, so the server's framing is checked from
// outside), and eventually(), polling with a deadline instead of fixed sleeps.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace trimserve::testing {

using TestClock = std::chrono::steady_clock;

inline TestClock::time_point deadline_in(double seconds) {
  return TestClock::now() + std::chrono::duration_cast<TestClock::duration>(
                                std::chrono::duration<double>(seconds));
}

// Polls `condition` every 2 ms until it holds (true) or `timeout_s` passed (false).
inline bool eventually(const std::function<bool()>& condition, double timeout_s = 2.0) {
  auto deadline = deadline_in(timeout_s);
  while (!condition()) {
    if (TestClock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;                            // decoded
  std::vector<std::string> chunks;             // payloads of a chunked body, in order
  bool chunked = false;

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class RawHttpClient {
 public:
  // Connects to 127.0.0.1:port; connected() tells whether that worked.
  explicit RawHttpClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      close();
    }
  }
  ~RawHttpClient() { close(); }
  RawHttpClient(const RawHttpClient&) = delete;
  RawHttpClient& operator=(const RawHttpClient&) = delete;

  bool connected() const { return fd_ >= 0; }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // The status line and fields of the next response; interim (1xx) responses are returned
  // like any other. The body stays unread.
  std::optional<RawResponse> read_head(double timeout_s = 2.0) {
    auto deadline = deadline_in(timeout_s);
    auto status_line = read_line(deadline);
    if (!status_line || status_line->rfind("HTTP/1.", 0) != 0 || status_line->size() < 12) {
      return std::nullopt;
    }
    RawResponse response;
    response.status = std::atoi(status_line->substr(9, 3).c_str());
    for (;;) {
      auto line = read_line(deadline);
      if (!line) return std::nullopt;
      if (line->empty()) break;
      size_t colon = line->find(':');
      if (colon == std::string::npos) return std::nullopt;
      std::string name = line->substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      size_t value_start = line->find_first_not_of(' ', colon + 1);
      response.headers[name] = value_start == std::string::npos ? "" : line->substr(value_start);
    }
    response.chunked = response.header("transfer-encoding") == "chunked";
    return response;
  }

  // The payload of the next chunk of a chunked body; "" for the last chunk (its trailer
  // consumed); nullopt on timeout, close or bad framing.
  std::optional<std::string> read_chunk(double timeout_s = 2.0) {
    auto deadline = deadline_in(timeout_s);
    auto size_line = read_line(deadline);
    if (!size_line || size_line->empty()) return std::nullopt;
    size_t size = std::stoul(*size_line, nullptr, 16);
    if (size == 0) {
      auto trailer_end = read_line(deadline);
      if (!trailer_end || !trailer_end->empty()) return std::nullopt;
      return std::string();
    }
    auto payload = read_exact(size, deadline);
    auto crlf = read_line(deadline);
    if (!payload || !crlf || !crlf->empty()) return std::nullopt;
    return payload;
  }

  // One complete final response (interim 1xx ones are skipped). `has_body`: false for the
  // answer to a HEAD request. nullopt on timeout, close or bad framing.
  std::optional<RawResponse> read_response(double timeout_s = 2.0, bool has_body = true) {
    auto deadline = deadline_in(timeout_s);
    std::optional<RawResponse> response;
    do {
      response = read_head(seconds_left(deadline));
      if (!response) return std::nullopt;
    } while (response->status < 200);
    if (!has_body || response->status == 204 || response->status == 304) return response;
    if (response->chunked) {
      for (;;) {
        auto chunk = read_chunk(seconds_left(deadline));
        if (!chunk) return std::nullopt;
        if (chunk->empty()) break;
        response->body += *chunk;
        response->chunks.push_back(std::move(*chunk));
      }
    } else if (!response->header("content-length").empty()) {
      auto body = read_exact(std::stoul(response->header("content-length")), deadline);
      if (!body) return std::nullopt;
      response->body = std::move(*body);
    } else {
      // Delimited by the close (an HTTP/1.0 stream).
      while (fill(deadline)) {
      }
      if (!eof_) return std::nullopt;
      response->body = std::move(buffer_);
      buffer_.clear();
    }
    return response;
  }

  // True once the peer has closed (EOF or reset) within the timeout. Bytes that arrive first
  // are kept for later reads.
  bool wait_closed(double timeout_s = 2.0) {
    auto deadline = deadline_in(timeout_s);
    while (fill(deadline)) {
    }
    return eof_;
  }

 private:
  static double seconds_left(TestClock::time_point deadline) {
    return std::max(0.0, std::chrono::duration<double>(deadline - TestClock::now()).count());
  }

  // Reads whatever arrives next into buffer_; false on timeout or once the peer closed.
  bool fill(TestClock::time_point deadline) {
    if (fd_ < 0 || eof_) return false;
    for (;;) {
      int wait_ms = static_cast<int>(seconds_left(deadline) * 1000);
      pollfd p{fd_, POLLIN, 0};
      int ready = ::poll(&p, 1, wait_ms);
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return false;
      char data[16384];
      ssize_t n = ::recv(fd_, data, sizeof data, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        eof_ = true;  // orderly close, or a reset
        return false;
      }
      buffer_.append(data, static_cast<size_t>(n));
      return true;
    }
  }

  std::optional<std::string> read_line(TestClock::time_point deadline) {
    for (;;) {
      size_t end = buffer_.find("\r\n");
      if (end != std::string::npos) {
        std::string line = buffer_.substr(0, end);
        buffer_.erase(0, end + 2);
        return line;
      }
      if (!fill(deadline)) return std::nullopt;
    }
  }

  std::optional<std::string> read_exact(size_t size, TestClock::time_point deadline) {
    while (buffer_.size() < size) {
      if (!fill(deadline)) return std::nullopt;
    }
    std::string out = buffer_.substr(0, size);
    buffer_.erase(0, size);
    return out;
  }

  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

}  // namespace trimserve::testing
