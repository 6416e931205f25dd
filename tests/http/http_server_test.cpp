// HttpServer: requests, keep-alive and the transport's limits, against a real server on
// 127.0.0.1 and a raw socket client. Streaming and draining are in http_streaming_test.cpp.
#include "server/http/http_server.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/http/http_test_util.h"
#include "tests/http/raw_http_client.h"
#include "tests/http/writer_slot.h"

using namespace trimserve;
using namespace trimserve::http;
using namespace trimserve::testing;

namespace {

double seconds_since(TestClock::time_point start) {
  return std::chrono::duration<double>(TestClock::now() - start).count();
}

}  // namespace

TEST_CASE("one keep-alive connection serves consecutive and pipelined requests", "[http]") {
  ServedHttp served(echo_handler);
  RawHttpClient client(served.port());
  REQUIRE(client.connected());

  REQUIRE(client.send(get_request("/a/b?x=1", "X-Test: one\r\n")));
  auto first = client.read_response();
  REQUIRE(first);
  CHECK(first->status == 200);
  CHECK(first->body == "GET /a/b?x=1 path=/a/b x-test=one body=");
  CHECK(first->header("server") == "trimserve");
  CHECK(first->header("x-echo") == "yes");
  CHECK(first->header("content-type") == "text/plain");
  CHECK(first->header("connection").empty());  // HTTP/1.1: keep-alive is the default

  REQUIRE(client.send(post_request("/v1/x", "hello")));
  auto second = client.read_response();
  REQUIRE(second);
  CHECK(second->status == 200);
  CHECK(second->body == "POST /v1/x path=/v1/x x-test= body=hello");

  // Two requests in one write: answered in order.
  REQUIRE(client.send(get_request("/p1") + post_request("/p2", "two")));
  auto p1 = client.read_response();
  auto p2 = client.read_response();
  REQUIRE(p1);
  REQUIRE(p2);
  CHECK(p1->body == "GET /p1 path=/p1 x-test= body=");
  CHECK(p2->body == "POST /p2 path=/p2 x-test= body=two");
  CHECK(served.server.num_connections() == 1);
}

TEST_CASE("a body of exactly the limit is served and one byte more is 413 and closed", "[http]") {
  ServedHttp served(echo_handler);
  {
    RawHttpClient client(served.port());
    REQUIRE(client.send(post_request("/", std::string(1024, 'b'))));
    auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->body == "POST / path=/ x-test= body=" + std::string(1024, 'b'));
  }
  SECTION("declared length") {
    RawHttpClient client(served.port());
    REQUIRE(client.send(post_request("/", std::string(1025, 'b'))));
    auto response = client.read_response();
    REQUIRE(response);
    check_error(*response, 413, "request body larger than 1024 bytes", "invalid_request_error",
                "request_too_large");
    CHECK(response->header("connection") == "close");
    CHECK(client.wait_closed());
  }
  SECTION("declared length, refused before the body is sent") {
    RawHttpClient client(served.port());
    REQUIRE(client.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n"));
    auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->status == 413);
    CHECK(client.wait_closed());
  }
  SECTION("chunked body") {
    RawHttpClient client(served.port());
    REQUIRE(client.send("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "400\r\n" + std::string(1024, 'c') + "\r\n1\r\nc\r\n0\r\n\r\n"));
    auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->status == 413);
    CHECK(client.wait_closed());
  }
}

TEST_CASE("a header block over the limit is 431 and closed", "[http]") {
  ServedHttp served(echo_handler);
  RawHttpClient client(served.port());
  REQUIRE(client.send(get_request("/", "X-Big: " + std::string(2000, 'h') + "\r\n")));
  auto response = client.read_response();
  REQUIRE(response);
  check_error(*response, 431, "request header block larger than 1024 bytes",
              "invalid_request_error", "headers_too_large");
  CHECK(client.wait_closed());
}

TEST_CASE("malformed HTTP is 400 and closed", "[http]") {
  ServedHttp served(echo_handler);
  RawHttpClient client(served.port());
  REQUIRE(client.send(std::string("\x01\x02 garbage \xff\r\n\r\n")));
  auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status == 400);
  CHECK(response->header("content-type") == "application/json");
  CHECK_THAT(response->body, Catch::StartsWith(R"({"error":{"message":"malformed HTTP request: )"));
  CHECK_THAT(response->body, Catch::EndsWith(R"(","type":"invalid_request_error",)"
                                             R"("param":null,"code":"bad_request"}})"));
  CHECK(client.wait_closed());
}

TEST_CASE("the transport error observer hears each refusal's status, and nothing of served requests",
          "[http]") {
  std::mutex mu;
  std::vector<int> heard;
  ServedHttp served(echo_handler, small_limits(), 2, [&](int status) {
    std::lock_guard lock(mu);
    heard.push_back(status);
  });
  auto answer = [&](const std::string& request) {
    RawHttpClient client(served.port());
    REQUIRE(client.send(request));
    auto response = client.read_response();
    REQUIRE(response);
    return response->status;
  };
  CHECK(answer(get_request("/fine")) == 200);
  CHECK(answer(post_request("/", std::string(1025, 'b'))) == 413);
  CHECK(answer(get_request("/", "X-Big: " + std::string(2000, 'h') + "\r\n")) == 431);
  CHECK(answer("\x01\x02 garbage\r\n\r\n") == 400);
  CHECK(answer(post_request("/", "ok")) == 200);
  // Each answer was written before the client read it, and the observer runs before the write.
  std::lock_guard lock(mu);
  CHECK(heard == std::vector<int>{413, 431, 400});
}

TEST_CASE("a request that does not arrive within read_timeout_s is 408 while others are served",
          "[http]") {
  HttpLimits limits = small_limits();
  limits.read_timeout_s = 0.3;
  ServedHttp served(echo_handler, limits);

  auto start = TestClock::now();
  RawHttpClient slow(served.port());
  RawHttpClient silent(served.port());
  REQUIRE(slow.send("GET /slow HT"));

  // Meanwhile another client is served at once.
  RawHttpClient other(served.port());
  REQUIRE(other.send(get_request("/fast")));
  auto fast = other.read_response();
  REQUIRE(fast);
  CHECK(fast->status == 200);
  CHECK(seconds_since(start) < 0.25);

  auto response = slow.read_response();
  REQUIRE(response);
  check_error(*response, 408, "request not received within 0.3 s", "invalid_request_error",
              "request_timeout");
  CHECK(seconds_since(start) >= 0.29);
  CHECK(seconds_since(start) < 1.5);
  CHECK(slow.wait_closed());

  // A connection that never sent a byte is closed without a response.
  CHECK(silent.wait_closed());
  CHECK_FALSE(silent.read_head(0.0));
}

TEST_CASE("an idle keep-alive connection is closed quietly after idle_timeout_s", "[http]") {
  HttpLimits limits = small_limits();
  limits.idle_timeout_s = 0.3;
  ServedHttp served(echo_handler, limits);
  RawHttpClient client(served.port());
  REQUIRE(client.send(get_request("/")));
  REQUIRE(client.read_response());
  auto answered = TestClock::now();
  CHECK(client.wait_closed());
  CHECK(seconds_since(answered) >= 0.29);
  CHECK_FALSE(client.read_head(0.0));
  CHECK(eventually([&] { return served.server.num_connections() == 0; }));
}

TEST_CASE("connections beyond max_connections are answered 503 and closed", "[http]") {
  HttpLimits limits = small_limits();
  limits.max_connections = 2;
  ServedHttp served(echo_handler, limits);
  auto first = std::make_unique<RawHttpClient>(served.port());
  RawHttpClient second(served.port());
  for (RawHttpClient* client : {first.get(), &second}) {
    REQUIRE(client->send(get_request("/")));
    REQUIRE(client->read_response());
  }
  CHECK(served.server.num_connections() == 2);

  RawHttpClient third(served.port());
  auto refused = third.read_response();
  REQUIRE(refused);
  check_error(*refused, 503, "too many connections (limit 2); retry later", "server_error",
              "too_many_connections");
  CHECK(refused->header("retry-after") == "1");
  CHECK(third.wait_closed());

  first.reset();
  REQUIRE(eventually([&] { return served.server.num_connections() == 1; }));
  RawHttpClient fourth(served.port());
  REQUIRE(fourth.send(get_request("/again")));
  auto served_again = fourth.read_response();
  REQUIRE(served_again);
  CHECK(served_again->status == 200);
}

TEST_CASE("listen on a port in use is kUnavailable naming host:port", "[http]") {
  ServedHttp served(echo_handler);
  HttpServer second(echo_handler, small_limits(), 1);
  Status status = second.listen("127.0.0.1", served.port());
  REQUIRE_FALSE(status.ok());
  CHECK(status.code() == ErrorCode::kUnavailable);
  CHECK(status.message() == "cannot listen on 127.0.0.1:" + std::to_string(served.port()) +
                                ": Address already in use");
  CHECK(second.port() == 0);

  Status again = served.server.listen("127.0.0.1", 0);
  CHECK(again.code() == ErrorCode::kFailedPrecondition);
}

TEST_CASE("HEAD gets the length without the body", "[http]") {
  ServedHttp served(echo_handler);
  RawHttpClient client(served.port());
  REQUIRE(client.send("HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto head = client.read_response(2.0, /*has_body=*/false);
  REQUIRE(head);
  CHECK(head->status == 200);
  std::string get_body = "HEAD /h path=/h x-test= body=";
  CHECK(head->header("content-length") == std::to_string(get_body.size()));
  // Had a body been sent, it would now be read as the next status line.
  REQUIRE(client.send(get_request("/next")));
  auto next = client.read_response();
  REQUIRE(next);
  CHECK(next->body == "GET /next path=/next x-test= body=");
}

TEST_CASE("Expect: 100-continue gets an interim 100 before the body is sent", "[http]") {
  ServedHttp served(echo_handler);
  RawHttpClient client(served.port());
  REQUIRE(client.send("POST /c HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                      "Expect: 100-continue\r\n\r\n"));
  auto interim = client.read_head();
  REQUIRE(interim);
  CHECK(interim->status == 100);
  REQUIRE(client.send("hello"));
  auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->body == "POST /c path=/c x-test= body=hello");
}

TEST_CASE("Connection: close from the client or the handler closes after the response",
          "[http]") {
  ServedHttp served([](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    HeaderList fields;
    if (request.path == "/bye") fields.emplace_back("Connection", "close");
    writer->send(200, "text/plain", "ok", fields);
  });
  for (const std::string& request :
       {get_request("/", "Connection: close\r\n"), get_request("/bye")}) {
    RawHttpClient client(served.port());
    REQUIRE(client.send(request));
    auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->body == "ok");
    CHECK(response->header("connection") == "close");
    CHECK(client.wait_closed());
  }
}

TEST_CASE("duplicate request fields are joined and names lowercased", "[http]") {
  ServedHttp served([](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    writer->send(200, "text/plain",
                 request.header("x-test") + "|" + request.remote.substr(0, 10) + "|" +
                     std::to_string(request.headers.count("host")));
  });
  RawHttpClient client(served.port());
  REQUIRE(client.send(get_request("/", "X-TEST: a\r\nx-test: b\r\n")));
  auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->body == "a, b|127.0.0.1:|1");
}

TEST_CASE("a handler that drops its writer or throws yields 500 and the connection lives on",
          "[http]") {
  ServedHttp served([](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    if (request.path == "/drop") return;
    if (request.path == "/throw") throw std::runtime_error("handler bug");
    writer->send(200, "text/plain", "fine");
  });
  RawHttpClient client(served.port());
  for (const char* path : {"/drop", "/throw"}) {
    REQUIRE(client.send(get_request(path)));
    auto response = client.read_response();
    REQUIRE(response);
    check_error(*response, 500, "the request handler produced no response", "server_error",
                "internal_error");
  }
  REQUIRE(client.send(get_request("/ok")));
  auto ok = client.read_response();
  REQUIRE(ok);
  CHECK(ok->body == "fine");
}

TEST_CASE("a handler that never answers holds only its own connection until stop()",
          "[http]") {
  WriterSlot slot;
  std::shared_ptr<ResponseWriter> held;  // outlives the server
  std::atomic<int> closes{0};
  {
    ServedHttp served([&](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
      if (request.path == "/hang") {
        slot.put(std::move(writer));
        return;
      }
      writer->send(200, "text/plain", "other");
    });
    RawHttpClient hanging(served.port());
    REQUIRE(hanging.send(get_request("/hang")));
    held = slot.take();
    REQUIRE(held);
    held->on_close([&] { ++closes; });

    RawHttpClient other(served.port());
    REQUIRE(other.send(get_request("/other")));
    auto response = other.read_response();
    REQUIRE(response);
    CHECK(response->body == "other");
    CHECK_FALSE(held->closed());

    served.server.stop();
    CHECK(closes == 1);
    CHECK(held->closed());
    CHECK(hanging.wait_closed());
    served.server.stop();  // idempotent
  }
  // The server is gone; the writer still works as an object and ignores everything.
  held->send(200, "text/plain", "too late");
  held->on_close([&] { ++closes; });
  CHECK(closes == 2);
  held.reset();
}
