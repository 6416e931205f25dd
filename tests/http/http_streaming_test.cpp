// HttpServer: chunked streaming answered from another thread, clients leaving mid-stream, and
// draining (drain) while a stream is in flight.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "server/http/http_server.h"
#include "tests/http/http_test_util.h"
#include "tests/http/raw_http_client.h"
#include "tests/http/writer_slot.h"

using namespace trimserve;
using namespace trimserve::http;
using namespace trimserve::testing;

namespace {

// /stream begins a stream and hands the writer to the test thread; anything else is echoed.
Handler streaming_handler(WriterSlot& slot) {
  return [&slot](HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
    if (request.path != "/stream") {
      echo_handler(std::move(request), std::move(writer));
      return;
    }
    writer->begin_stream(200, "text/event-stream", {{"Cache-Control", "no-cache"}});
    slot.put(std::move(writer));
  };
}

// Writes `chunk` and waits until the socket accepted it — the producer's flow control.
bool write_and_wait(ResponseWriter& writer, const std::string& chunk) {
  auto done = std::make_shared<std::atomic<bool>>(false);
  writer.write(chunk, [done] { done->store(true); });
  return eventually([&] { return done->load(); });
}

}  // namespace

TEST_CASE("a stream written from another thread arrives as chunks in order", "[http]") {
  WriterSlot slot;
  ServedHttp served(streaming_handler(slot), small_limits(), /*threads=*/1);
  RawHttpClient client(served.port());
  REQUIRE(client.send(get_request("/stream")));
  std::shared_ptr<ResponseWriter> writer = slot.take();
  REQUIRE(writer);

  std::atomic<int> written{0};
  std::thread producer([&] {
    for (const char* chunk : {"alpha", "", "bravo\n", "charlie!"}) {
      writer->write(chunk, [&] { ++written; });
    }
    writer->end();
  });
  producer.join();

  auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->chunked);
  CHECK(response->header("content-type") == "text/event-stream");
  CHECK(response->header("cache-control") == "no-cache");
  CHECK(response->header("content-length").empty());
  CHECK(response->chunks == std::vector<std::string>{"alpha", "bravo\n", "charlie!"});
  CHECK(eventually([&] { return written == 4; }));  // the empty chunk's callback runs too

  // The exchange is over: its writer can no longer touch the connection, which serves on.
  writer->write("stale");
  writer->end();
  REQUIRE(client.send(get_request("/after")));
  auto after = client.read_response();
  REQUIRE(after);
  CHECK(after->body == "GET /after path=/after x-test= body=");
}

TEST_CASE("a client leaving mid-stream runs on_close and later writes are ignored", "[http]") {
  WriterSlot slot;
  ServedHttp served(streaming_handler(slot));
  auto client = std::make_unique<RawHttpClient>(served.port());
  REQUIRE(client->send(get_request("/stream")));
  std::shared_ptr<ResponseWriter> writer = slot.take();
  REQUIRE(writer);
  std::atomic<int> closes{0};
  writer->on_close([&] { ++closes; });
  REQUIRE(write_and_wait(*writer, "first"));

  auto head = client->read_head();
  REQUIRE(head);
  CHECK(head->chunked);
  CHECK(client->read_chunk() == std::optional<std::string>("first"));
  CHECK_FALSE(writer->closed());
  client.reset();  // the client goes away

  REQUIRE(eventually([&] { return closes == 1; }));
  CHECK(writer->closed());
  std::atomic<bool> late_written{false};
  writer->write("late", [&] { late_written = true; });
  writer->end();
  writer->on_close([&] { closes += 10; });  // registered after the loss: runs at once
  CHECK(eventually([&] { return closes == 11; }));
  CHECK_FALSE(late_written);
  CHECK(eventually([&] { return served.server.num_connections() == 0; }));

  RawHttpClient next(served.port());
  REQUIRE(next.send(get_request("/ok")));
  auto response = next.read_response();
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK_FALSE(late_written);
}

TEST_CASE("drain answers new connections once while a stream in flight completes",
          "[http]") {
  WriterSlot slot;
  ServedHttp served(streaming_handler(slot));
  RawHttpClient idle(served.port());
  REQUIRE(idle.send(get_request("/before")));
  REQUIRE(idle.read_response());

  RawHttpClient streaming(served.port());
  REQUIRE(streaming.send(get_request("/stream")));
  std::shared_ptr<ResponseWriter> writer = slot.take();
  REQUIRE(writer);
  REQUIRE(write_and_wait(*writer, "one"));
  REQUIRE(streaming.read_head());
  CHECK(streaming.read_chunk() == std::optional<std::string>("one"));

  served.server.drain();
  CHECK(idle.wait_closed());  // between requests: closed at once

  // A connection made while draining is still answered (the handler decides what: here an
  // echo), once, with Connection: close.
  RawHttpClient late(served.port());
  REQUIRE(late.connected());
  REQUIRE(late.send(get_request("/late")));
  auto answer = late.read_response();
  REQUIRE(answer);
  CHECK(answer->status == 200);
  CHECK(answer->header("connection") == "close");
  CHECK(late.wait_closed());
  late.close();

  REQUIRE(write_and_wait(*writer, "two"));
  writer->end();
  CHECK(streaming.read_chunk() == std::optional<std::string>("two"));
  CHECK(streaming.read_chunk() == std::optional<std::string>(""));
  CHECK(streaming.wait_closed());  // draining: no keep-alive after the response
  // The server lingers (reading until the client closes too) before it lets go.
  streaming.close();
  CHECK(eventually([&] { return served.server.num_connections() == 0; }));
}

TEST_CASE("a client that stops reading is cut off after write_timeout_s", "[http]") {
  WriterSlot slot;
  HttpLimits limits = small_limits();
  limits.write_timeout_s = 0.3;
  ServedHttp served(streaming_handler(slot), limits);
  RawHttpClient client(served.port());  // sends its request, then never reads
  REQUIRE(client.send(get_request("/stream")));
  std::shared_ptr<ResponseWriter> writer = slot.take();
  REQUIRE(writer);
  std::atomic<int> closes{0};
  writer->on_close([&] { ++closes; });

  // Fill the socket buffers until a write no longer completes; the producer pauses there.
  const std::string megabyte(1 << 20, 'z');
  auto start = TestClock::now();
  int accepted = 0;
  while (accepted < 256 && !writer->closed()) {
    auto done = std::make_shared<std::atomic<bool>>(false);
    writer->write(megabyte, [done] { done->store(true); });
    REQUIRE(eventually([&] { return done->load() || writer->closed(); }));
    if (done->load()) ++accepted;
  }
  CHECK(accepted < 256);
  REQUIRE(eventually([&] { return closes == 1; }));
  CHECK(writer->closed());
  CHECK(std::chrono::duration<double>(TestClock::now() - start).count() < 2.0);
  CHECK(eventually([&] { return served.server.num_connections() == 0; }));
}

TEST_CASE("an HTTP/1.0 client gets the stream unframed and ended by the close", "[http]") {
  WriterSlot slot;
  ServedHttp served(streaming_handler(slot));
  RawHttpClient client(served.port());
  REQUIRE(client.send("GET /stream HTTP/1.0\r\n\r\n"));
  std::shared_ptr<ResponseWriter> writer = slot.take();
  REQUIRE(writer);
  writer->write("ab");
  writer->write("cd");
  writer->end();
  auto response = client.read_response();
  REQUIRE(response);
  CHECK_FALSE(response->chunked);
  CHECK(response->body == "abcd");
}

TEST_CASE("stop() with a stream in flight closes it and runs on_close once", "[http]") {
  WriterSlot slot;
  std::atomic<int> closes{0};
  std::shared_ptr<ResponseWriter> writer;
  {
    ServedHttp served(streaming_handler(slot));
    RawHttpClient client(served.port());
    REQUIRE(client.send(get_request("/stream")));
    writer = slot.take();
    REQUIRE(writer);
    writer->on_close([&] { ++closes; });
    REQUIRE(write_and_wait(*writer, "x"));
    served.server.stop();
    CHECK(closes == 1);
    CHECK(writer->closed());
    CHECK(client.wait_closed());
  }
  writer->write("after the server");  // ignored, and safe
  writer.reset();
  CHECK(closes == 1);
}

TEST_CASE("concurrent streams with producers on their own threads while some clients leave",
          "[http]") {
  constexpr int kStreams = 12;
  constexpr int kChunks = 40;
  std::mutex mutex;
  std::vector<std::thread> producers;
  std::atomic<int> finished{0};
  std::atomic<int> lost{0};
  HttpLimits limits = small_limits();
  limits.max_connections = kStreams;
  ServedHttp served(
      [&](HttpRequest, std::shared_ptr<ResponseWriter> writer) {
        writer->begin_stream(200, "text/plain");
        std::lock_guard lock(mutex);
        // Each producer paces itself on `written`, and stops once its client has gone.
        producers.emplace_back([writer, &finished, &lost] {
          auto gone = std::make_shared<std::atomic<bool>>(false);
          writer->on_close([gone] { gone->store(true); });
          for (int i = 0; i < kChunks && !gone->load(); ++i) {
            auto done = std::make_shared<std::atomic<bool>>(false);
            writer->write(std::to_string(i) + ";", [done] { done->store(true); });
            while (!done->load() && !gone->load()) std::this_thread::yield();
          }
          writer->end();
          (gone->load() ? lost : finished)++;
        });
      },
      limits);

  std::vector<std::unique_ptr<RawHttpClient>> clients;
  for (int i = 0; i < kStreams; ++i) {
    clients.push_back(std::make_unique<RawHttpClient>(served.port()));
    REQUIRE(clients.back()->send(get_request("/s")));
  }
  std::string expected;
  for (int i = 0; i < kChunks; ++i) expected += std::to_string(i) + ";";
  for (int i = 0; i < kStreams; ++i) {
    if (i % 3 == 0) {
      REQUIRE(clients[i]->read_head());
      clients[i].reset();  // leaves mid-stream
      continue;
    }
    auto response = clients[i]->read_response();
    REQUIRE(response);
    CHECK(response->body == expected);
  }
  REQUIRE(eventually([&] { return finished + lost == kStreams; }));
  CHECK(finished >= kStreams - kStreams / 3);
  {
    std::lock_guard lock(mutex);
    for (std::thread& producer : producers) producer.join();
  }
}
