// Updates from many threads while another thread scrapes: no update is lost, and every scrape
// is a well-formed, self-consistent exposition (each histogram's buckets cumulative and its
// _count equal to its +Inf bucket; counters never going backwards between scrapes).
#include "server/metrics/registry.h"

#include <atomic>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

using namespace trimserve::metrics;

namespace {

constexpr int kThreads = 8;
constexpr int kPerThread = 100000;
const std::vector<double> kBounds = {0.5, 1.0, 1.5};

// Checks one scrape line by line; returns the first problem, or "" if there is none. Relies on
// the documented line order: a histogram child's buckets, then its _sum, then its _count.
std::string check_scrape(const std::string& text, double& last_total) {
  if (!text.empty() && text.back() != '\n') return "no final newline";
  std::istringstream lines(text);
  std::string line;
  std::vector<double> buckets;  // the current histogram child's, in order
  bool saw_inf = false, saw_sum = false;
  while (std::getline(lines, line)) {
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) continue;
    size_t space = line.rfind(' ');
    if (space == std::string::npos || line.starts_with("#")) return "bad line: " + line;
    std::string series = line.substr(0, space);
    const char* begin = line.c_str() + space + 1;
    char* end = nullptr;
    double value = std::strtod(begin, &end);
    if (end == begin || *end != '\0') return "bad value: " + line;

    if (series.find("_bucket") != std::string::npos) {
      if (saw_inf) return "bucket after +Inf: " + line;
      if (!buckets.empty() && value < buckets.back()) return "buckets not cumulative: " + line;
      buckets.push_back(value);
      saw_inf = series.find("le=\"+Inf\"") != std::string::npos;
    } else if (series.find("_sum") != std::string::npos) {
      if (!saw_inf || buckets.size() != kBounds.size() + 1) return "sum without buckets: " + line;
      saw_sum = true;
    } else if (series.find("_count") != std::string::npos) {
      if (!saw_sum) return "count without sum: " + line;
      if (value != buckets.back()) return "count != +Inf bucket: " + line;
      buckets.clear();
      saw_inf = saw_sum = false;
    } else if (series == "test_ops_total") {
      if (value < last_total) return "counter went down: " + line;
      last_total = value;
    }
  }
  if (!buckets.empty()) return "unfinished histogram";
  return "";
}

}  // namespace

TEST_CASE("concurrent updates are exact and every scrape is consistent", "[metrics]") {
  Registry r;
  Counter& total = r.counter("test_ops_total", "Operations.");
  std::atomic<int> running{kThreads};
  std::atomic<bool> identity_ok{true};  // Catch2 assertions are not thread-safe: report here

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const Labels shard = {{"shard", std::to_string(t % 2)}};
      // Looked up on the worker threads, so that children are created concurrently too.
      Counter& mine = r.counter("test_ops_by_shard_total", "Operations by shard.", shard);
      Histogram& latency = r.histogram("test_latency_seconds", "Latency.", kBounds, shard);
      Gauge& in_flight = r.gauge("test_in_flight", "Operations in flight.");
      for (int i = 0; i < kPerThread; ++i) {
        in_flight.add(1);
        total.inc();
        mine.inc();
        latency.observe((i % 4) * 0.5);  // 0, 0.5, 1, 1.5: on the boundaries, sums exact
        in_flight.add(-1);
        if (i % 10000 == 0 &&
            &r.counter("test_ops_by_shard_total", "Operations by shard.", shard) != &mine) {
          identity_ok = false;
        }
      }
      --running;
    });
  }

  int scrapes = 0;
  double last_total = 0;
  do {
    std::string problem = check_scrape(r.scrape(), last_total);
    INFO("scrape " << scrapes);
    REQUIRE(problem == "");
    ++scrapes;
  } while (running > 0);
  for (auto& thread : threads) thread.join();
  CHECK(identity_ok);
  INFO(scrapes << " scrapes");

  CHECK(total.value() == kThreads * kPerThread);
  CHECK(r.gauge("test_in_flight", "Operations in flight.").value() == 0);
  for (const char* shard : {"0", "1"}) {
    const Labels labels = {{"shard", shard}};
    CHECK(r.counter("test_ops_by_shard_total", "Operations by shard.", labels).value() ==
          kThreads / 2 * kPerThread);
    Histogram::Snapshot s =
        r.histogram("test_latency_seconds", "Latency.", kBounds, labels).snapshot();
    const uint64_t per_shard = kThreads / 2 * kPerThread;
    CHECK(s.cumulative ==
          std::vector<uint64_t>{per_shard / 2, per_shard * 3 / 4, per_shard, per_shard});
    CHECK(s.count == per_shard);
    CHECK(s.sum == 0.75 * per_shard);
  }
  std::string last = r.scrape();
  CHECK(check_scrape(last, last_total) == "");
  CHECK(last.find("test_ops_total 800000\n") != std::string::npos);
  CHECK(last.find("test_latency_seconds_bucket{shard=\"1\",le=\"+Inf\"} 400000\n") !=
        std::string::npos);
  CHECK(last.find("test_latency_seconds_sum{shard=\"0\"} 300000\n") != std::string::npos);
}
