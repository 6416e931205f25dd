// The Registry: exact exposition text, child identity, scrape callbacks, contract checks
// (TS_CHECK aborts, observed in a forked child), and promtool's verdict on a real scrape.
// Concurrency has its own file (metrics_concurrency_test.cpp).
#include "server/metrics/registry.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

using namespace trimserve::metrics;

TEST_CASE("scrape writes the exact exposition text", "[metrics]") {
  Registry r;
  r.counter("vllm:prompt_tokens_total", "Prompt tokens processed.",
            {{"tenant", "b"}, {"model", "m"}})
      .inc(5);
  r.counter("vllm:prompt_tokens_total", "Prompt tokens processed.",
            {{"tenant", "a \"q\" \\ \n"}, {"model", "m"}})
      .inc(2.5);
  r.gauge("vllm:num_requests_running", "Requests running.\nSecond line: \\ and \"quotes\".").set(3);
  // Observations on the boundaries 0.25, 0.5 and 1 count in those buckets (le is inclusive).
  Histogram& ttft = r.histogram("trimserve_ttft_seconds", "Time to first token.", {0.25, 0.5, 1},
                                {{"tenant", "a"}});
  for (double v : {0.25, 0.5, 0.75, 1.0, 4.0}) ttft.observe(v);
  r.histogram("trimserve_batch_tokens", "Tokens per step.", {8}).observe(8);

  const std::string expected = R"EXP(# HELP trimserve_batch_tokens Tokens per step.
# TYPE trimserve_batch_tokens histogram
trimserve_batch_tokens_bucket{le="8"} 1
trimserve_batch_tokens_bucket{le="+Inf"} 1
trimserve_batch_tokens_sum 8
trimserve_batch_tokens_count 1
# HELP trimserve_ttft_seconds Time to first token.
# TYPE trimserve_ttft_seconds histogram
trimserve_ttft_seconds_bucket{tenant="a",le="0.25"} 1
trimserve_ttft_seconds_bucket{tenant="a",le="0.5"} 2
trimserve_ttft_seconds_bucket{tenant="a",le="1"} 4
trimserve_ttft_seconds_bucket{tenant="a",le="+Inf"} 5
trimserve_ttft_seconds_sum{tenant="a"} 6.5
trimserve_ttft_seconds_count{tenant="a"} 5
# HELP vllm:num_requests_running Requests running.\nSecond line: \\ and "quotes".
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running 3
# HELP vllm:prompt_tokens_total Prompt tokens processed.
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{tenant="a \"q\" \\ \n",model="m"} 2.5
vllm:prompt_tokens_total{tenant="b",model="m"} 5
)EXP";
  CHECK(r.scrape() == expected);
  CHECK(r.scrape() == expected);  // scraping changes nothing
}

TEST_CASE("an empty registry scrapes to nothing", "[metrics]") {
  Registry r;
  CHECK(r.scrape().empty());
}

TEST_CASE("histogram buckets are inclusive upper bounds", "[metrics]") {
  Histogram h({1, 2, std::numeric_limits<double>::infinity()});  // a trailing +Inf is dropped
  CHECK(h.bounds() == std::vector<double>{1, 2});
  for (double v : {-5.0, 1.0, 1.0000001, 2.0, 3.0}) h.observe(v);
  Histogram::Snapshot s = h.snapshot();
  CHECK(s.cumulative == std::vector<uint64_t>{2, 4, 5});
  CHECK(s.count == 5);
  CHECK(s.sum == Approx(2.0000001));

  h.observe(std::nan(""));  // like the Go client: +Inf bucket only, sum becomes NaN
  s = h.snapshot();
  CHECK(s.cumulative == std::vector<uint64_t>{2, 4, 6});
  CHECK(std::isnan(s.sum));
}

TEST_CASE("the same name and label values give the same child", "[metrics]") {
  Registry r;
  Counter& a = r.counter("requests_total", "Requests.", {{"tenant", "a"}});
  Counter& b = r.counter("requests_total", "Requests.", {{"tenant", "b"}});
  CHECK(&a != &b);
  // Many more children must not move the first ones.
  for (int i = 0; i < 1000; ++i) {
    r.counter("requests_total", "Requests.", {{"tenant", std::to_string(i)}});
  }
  CHECK(&r.counter("requests_total", "Requests.", {{"tenant", "a"}}) == &a);
  a.inc();
  a.inc(2);
  CHECK(r.counter("requests_total", "Requests.", {{"tenant", "a"}}).value() == 3);
  CHECK(b.value() == 0);

  Gauge& g = r.gauge("queue_depth", "Queued.");
  CHECK(&r.gauge("queue_depth", "Queued.") == &g);
  g.add(5);
  g.add(-2);
  CHECK(g.value() == 3);
  g.set(-1.5);
  CHECK(g.value() == -1.5);

  Histogram& h = r.histogram("latency_seconds", "Latency.", {0.1, 1});
  CHECK(&r.histogram("latency_seconds", "Latency.", {0.1, 1}) == &h);
}

TEST_CASE("on_scrape callbacks refresh gauges before the text is written", "[metrics]") {
  Registry r;
  std::atomic<int> live_pages{7};
  int runs = 0;
  r.on_scrape([&](Registry& reg) {
    ++runs;
    reg.gauge("kv_pages_used", "Pages in use.").set(live_pages.load());
  });
  // A callback may create children (a tenant seen for the first time) and add callbacks.
  r.on_scrape([&](Registry& reg) {
    reg.gauge("tenant_sessions", "Sessions.", {{"tenant", "t" + std::to_string(runs)}}).set(runs);
  });

  CHECK(r.scrape() ==
        "# HELP kv_pages_used Pages in use.\n# TYPE kv_pages_used gauge\nkv_pages_used 7\n"
        "# HELP tenant_sessions Sessions.\n# TYPE tenant_sessions gauge\n"
        "tenant_sessions{tenant=\"t1\"} 1\n");
  live_pages = 9;
  bool added = false;
  r.on_scrape([&](Registry& reg) {
    if (!added) reg.on_scrape([](Registry& inner) { inner.gauge("late", "Late.").set(1); });
    added = true;
  });
  std::string second = r.scrape();
  CHECK(runs == 2);
  CHECK(second.find("kv_pages_used 9\n") != std::string::npos);
  CHECK(second.find("tenant_sessions{tenant=\"t2\"} 2\n") != std::string::npos);
  CHECK(second.find("late 1") == std::string::npos);  // registered during this scrape
  CHECK(r.scrape().find("late 1\n") != std::string::npos);
}

namespace {

// Runs `fn` in a forked child. Returns what it wrote to stderr if it died of SIGABRT (a failed
// TS_CHECK), nothing if it returned normally or died otherwise.
std::optional<std::string> abort_message(const std::function<void()>& fn) {
  std::fflush(nullptr);  // or the child would flush the parent's buffered output again
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Catch2's own SIGABRT handler would report a failure from the child; the parent judges.
    std::signal(SIGABRT, SIG_DFL);
    std::freopen("/dev/null", "w", stdout);
    close(fds[0]);
    dup2(fds[1], STDERR_FILENO);
    fn();
    _exit(0);
  }
  close(fds[1]);
  std::string err;
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) err.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) return err;
  return std::nullopt;
}

// True if `fn` fails a TS_CHECK whose message mentions `needle`.
bool check_fails(const std::function<void()>& fn, const std::string& needle) {
  std::optional<std::string> err = abort_message(fn);
  if (!err) return false;
  INFO(*err);
  return err->find("check failed") != std::string::npos && err->find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("misuse is a TS_CHECK failure", "[metrics]") {
  CHECK_FALSE(abort_message([] { Registry().counter("ok_total", "Fine.").inc(); }).has_value());

  CHECK(check_fails([] { Registry().counter("c_total", "C.").inc(-1); }, "only goes up"));
  CHECK(check_fails([] { Registry().counter("c_total", "C.").inc(std::nan("")); }, "only goes up"));

  CHECK(check_fails([] { Registry().counter("1c", "C."); }, "invalid metric name"));
  CHECK(check_fails([] { Registry().gauge("a-b", "G."); }, "invalid metric name"));
  CHECK(check_fails([] { Registry().gauge("g", ""); }, "help text is empty"));
  CHECK(check_fails([] { Registry().gauge("g", "G.", {{"__x", "1"}}); }, "invalid label name"));
  CHECK(check_fails([] { Registry().gauge("g", "G.", {{"a-b", "1"}}); }, "invalid label name"));
  CHECK(check_fails([] { Registry().gauge("g", "G.", {{"a", "1"}, {"a", "2"}}); },
                    "duplicate label name"));
  CHECK(check_fails([] { Registry().histogram("h", "H.", {1}, {{"le", "1"}}); }, "\"le\""));

  CHECK(check_fails(
      [] {
        Registry r;
        r.counter("x", "X.");
        r.gauge("x", "X.");
      },
      "another type"));
  CHECK(check_fails(
      [] {
        Registry r;
        r.counter("x", "X.");
        r.counter("x", "Y.");
      },
      "another help text"));
  CHECK(check_fails(
      [] {
        Registry r;
        r.counter("x", "X.", {{"a", "1"}});
        r.counter("x", "X.", {{"b", "1"}});
      },
      "other label names"));
  CHECK(check_fails(
      [] {
        Registry r;
        r.counter("x", "X.", {{"a", "1"}, {"b", "2"}});
        r.counter("x", "X.", {{"b", "2"}, {"a", "1"}});  // same set, another order
      },
      "other label names"));
  CHECK(check_fails(
      [] {
        Registry r;
        r.counter("x", "X.", {{"a", "1"}});
        r.counter("x", "X.");
      },
      "other label names"));
  CHECK(check_fails(
      [] {
        Registry r;
        r.histogram("h", "H.", {1, 2});
        r.histogram("h", "H.", {1, 3});
      },
      "other buckets"));
  CHECK(check_fails([] { Registry().histogram("h", "H.", {2, 1}); }, "must increase"));
  CHECK(check_fails([] { Registry().histogram("h", "H.", {1, 1}); }, "must increase"));
  CHECK(check_fails([] { Registry().histogram("h", "H.", {std::nan("")}); }, "finite"));

  // Series names must not clash across families, in either order of creation.
  CHECK(check_fails(
      [] {
        Registry r;
        r.histogram("h", "H.", {1});
        r.counter("h_count", "C.");
      },
      "clash with metric 'h'"));
  CHECK(check_fails(
      [] {
        Registry r;
        r.gauge("h_bucket", "G.");
        r.histogram("h", "H.", {1});
      },
      "clash with metric 'h_bucket'"));
}

namespace {

// The output and exit status of a shell command.
std::pair<std::string, int> run_shell(const std::string& command) {
  std::fflush(nullptr);
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buf[512];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  int status = pclose(pipe);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

// promtool's output and exit status for `text` (1: unparseable; 3: parsed, lint problems).
std::pair<std::string, int> promtool_check(const std::string& text) {
  auto path = std::filesystem::temp_directory_path() /
              ("trimserve_metrics_" + std::to_string(getpid()) + ".prom");
  {
    std::ofstream file(path, std::ios::binary);
    file << text;
    REQUIRE(file.good());
  }
  auto result = run_shell("promtool check metrics < '" + path.string() + "'");
  std::filesystem::remove(path);
  return result;
}

// Every type, labels needing escapes, UTF-8, special values: what a daemon scrape may hold.
void fill_representative(Registry& r, bool vllm_names) {
  const std::string tricky = "t\xC3\xA9nant \"x\" \\ \n \xE2\x98\x83";
  r.counter("trimserve_evictions_total", "KV entries evicted, by reason.", {{"reason", "budget"}})
      .inc(12);
  r.counter("trimserve_evictions_total", "KV entries evicted, by reason.", {{"reason", tricky}})
      .inc(0.5);
  r.gauge("trimserve_sessions_resident", "Idle sessions kept.\nHelp with \\ and \"quotes\".")
      .set(std::numeric_limits<double>::infinity());
  r.gauge("trimserve_retained_ratio", "Retained over offered entries.", {{"tenant", tricky}})
      .set(std::nan(""));
  Histogram& h = r.histogram("trimserve_step_seconds", "Engine step latency.",
                             {0.001, 0.01, 0.1, 1}, {{"tenant", "default"}, {"kind", "decode"}});
  for (double v : {0.0005, 0.001, 0.05, 0.2, 3.0}) h.observe(v);
  if (!vllm_names) return;
  r.counter("vllm:prompt_tokens_total", "Prompt tokens processed.", {{"tenant", tricky}}).inc(42);
  r.gauge("vllm:kv_cache_usage_perc", "KV cache usage, 0..1.").set(0.375);
  r.histogram("vllm:time_to_first_token_seconds", "Time to first token.", {0.1, 0.5, 2.5})
      .observe(0.5);
}

}  // namespace

TEST_CASE("promtool accepts a representative scrape", "[metrics][promtool]") {
  if (run_shell("command -v promtool").second != 0) {
    WARN("promtool not on PATH (Debian package 'prometheus', deploy/install-deps.sh): skipped");
    return;
  }
  SECTION("trimserve_* names: no problems at all") {
    Registry r;
    fill_representative(r, /*vllm_names=*/false);
    auto [out, rc] = promtool_check(r.scrape());
    INFO(out);
    CHECK(rc == 0);
    CHECK(out.empty());
  }
  SECTION("vllm: names parse; the only lint is the colon vLLM's names carry") {
    Registry r;
    fill_representative(r, /*vllm_names=*/true);
    auto [out, rc] = promtool_check(r.scrape());
    INFO(out);
    CHECK(rc == 3);  // parsed, with lint findings (1 would be a parse error)
    std::istringstream lines(out);
    std::string line;
    int colon_findings = 0;
    while (std::getline(lines, line)) {
      INFO(line);
      CHECK(line.starts_with("vllm:"));
      CHECK(line.ends_with("metric names should not contain ':'"));
      ++colon_findings;
    }
    CHECK(colon_findings == 3);
  }
}
