#include "server/cli/http_bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <latch>
#include <map>
#include <memory>
#include <random>
#include <thread>

#include "server/cli/bench_stats.h"
#include "server/cli/result_files.h"

namespace trimserve::cli {

namespace {

using Clock = std::chrono::steady_clock;

// Common English words. Short and frequent, so real tokenizers spend about one token on each;
// the calibration takes care of tokenizers that spend more.
constexpr const char* kWords[] = {
    "the",      "of",    "and",   "to",     "in",    "is",    "you",   "that",   "it",    "he",
    "was",      "for",   "on",    "are",    "as",    "with",  "his",   "they",   "at",    "be",
    "this",     "have",  "from",  "or",     "one",   "had",   "by",    "word",   "but",   "not",
    "what",     "all",   "were",  "we",     "when",  "your",  "can",   "said",   "there", "use",
    "an",       "each",  "which", "she",    "do",    "how",   "their", "if",     "will",  "up",
    "other",    "about", "out",   "many",   "then",  "them",  "these", "so",     "some",  "her",
    "would",    "make",  "like",  "him",    "into",  "time",  "has",   "look",   "two",   "more",
    "write",    "go",    "see",   "number", "no",    "way",   "could", "people", "my",    "than",
    "first",    "water", "been",  "call",   "who",   "oil",   "its",   "now",    "find",  "long",
    "down",     "day",   "did",   "get",    "come",  "made",  "may",   "part",   "over",  "new",
    "sound",    "take",  "only",  "little", "work",  "know",  "place", "year",   "live",  "me",
    "back",     "give",  "most",  "very",   "after", "thing", "our",   "just",   "name",  "good",
    "sentence", "man",   "think", "say",    "great", "where",
};
constexpr size_t kNumWords = sizeof(kWords) / sizeof(kWords[0]);

// The prompt of request `index` of a run: `words` words seeded by (seed, index), so every
// request differs and a rerun with the same seed sends the same prompts.
std::string prompt_text(uint64_t seed, uint64_t index, int64_t words) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32)};
  std::mt19937_64 rng(seq);
  std::string s;
  for (int64_t i = 0; i < words; ++i) {
    if (i > 0) s += ' ';
    s += kWords[rng() % kNumWords];  // not uniform_int_distribution: its output varies by library
  }
  return s;
}

class Runner {
 public:
  Runner(const HttpBenchOptions& o, const std::function<void(const std::string&)>& progress)
      : o_(o), progress_(progress), control_(o.target, o.api_key, o.timeout_s) {}

  HttpBenchRun run() {
    HttpBenchRun run;
    run.started = utc_timestamp();
    run.endpoint = o_.chat ? "/v1/chat/completions" : "/v1/completions";
    endpoint_ = run.endpoint;
    run.stopped = pick_model();
    if (!run.stopped.ok()) return run;
    run.model = model_;
    run.stopped = calibrate();
    if (!run.stopped.ok()) return run;
    run.words_per_prompt = words_;
    for (int64_t c : o_.concurrency) {
      const int64_t n = o_.requests > 0 ? o_.requests : default_requests(c);
      say("concurrency " + std::to_string(c) + ": " + std::to_string(n) + " requests");
      auto level = run_level(c, n);
      if (!level.ok()) {
        run.stopped = level.status();
        break;
      }
      run.levels.push_back(std::move(*level));
    }
    const HttpBenchLevel* sequential = nullptr;
    for (const HttpBenchLevel& l : run.levels) {
      if (l.concurrency == 1) sequential = &l;
    }
    if (sequential != nullptr && sequential->output_tokens_per_s > 0) {
      const double base = sequential->output_tokens_per_s;
      for (HttpBenchLevel& l : run.levels) l.ratio_vs_sequential = l.output_tokens_per_s / base;
    }
    return run;
  }

 private:
  void say(const std::string& line) const {
    if (progress_) progress_(line);
  }

  std::string body(uint64_t index, int64_t words, int64_t max_tokens) const {
    const std::string prompt = prompt_text(o_.seed, index, words);
    nlohmann::ordered_json j = {{"model", model_}};
    if (o_.chat) {
      j["messages"] = nlohmann::ordered_json::array({{{"role", "user"}, {"content", prompt}}});
    } else {
      j["prompt"] = prompt;
    }
    j["max_tokens"] = max_tokens;
    j["temperature"] = 0;
    j["ignore_eos"] = true;  // every request generates exactly max_tokens
    j["stream"] = true;
    j["stream_options"] = {{"include_usage", true}};
    return j.dump();
  }

  Status pick_model() {
    if (!o_.model.empty()) {
      model_ = o_.model;
      return Status();
    }
    auto reply = control_.get("/v1/models");
    if (!reply.ok()) return reply.status();
    if (reply->status != 200) {
      return Status(ErrorCode::kUnavailable, "GET /v1/models: HTTP " +
                                                 std::to_string(reply->status) + ": " +
                                                 api_error_message(reply->body));
    }
    const auto j = nlohmann::json::parse(reply->body, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("data") || !j["data"].is_array() || j["data"].empty() ||
        !j["data"][0].is_object() || !j["data"][0].contains("id") ||
        !j["data"][0]["id"].is_string()) {
      return Status(ErrorCode::kUnavailable, "GET /v1/models: no model listed (use --model)");
    }
    model_ = j["data"][0]["id"].get<std::string>();
    say("model " + model_ + " (the first of GET /v1/models)");
    return Status();
  }

  // One streamed request on the control connection (probes and warm-ups); an error stops the
  // run: when these fail, the measured requests would only repeat the failure.
  Result<StreamResult> control_request(const std::string& what, uint64_t index, int64_t words,
                                       int64_t max_tokens) {
    StreamResult r = control_.post_stream(endpoint_, body(index, words, max_tokens));
    if (!r.ok()) return Status(ErrorCode::kUnavailable, what + " failed: " + r.error);
    return r;
  }

  // tokens(w) ~ overhead + rate * w for a prompt of w words, from two probes (max_tokens 1)
  // of 1 and kProbeWords words of the same text (the short one a prefix of the long one, so
  // the difference is the tokens of the other words), solved for w = prompt_tokens.
  // The overhead is what the server adds around the text (a chat template, BOS).
  Status calibrate() {
    // Enough words that their mean token count is stable, well inside any model's context
    // even at several tokens per word.
    constexpr int64_t kProbeWords = 256;
    const uint64_t index = next_index_++;
    auto shortest = control_request("calibration request", index, 1, 1);
    if (!shortest.ok()) return shortest.status();
    auto longest = control_request("calibration request", index, kProbeWords, 1);
    if (!longest.ok()) return longest.status();
    words_ = o_.prompt_tokens;
    if (longest->prompt_tokens <= shortest->prompt_tokens) return Status();  // no usage: 1:1
    const double rate = static_cast<double>(longest->prompt_tokens - shortest->prompt_tokens) /
                        static_cast<double>(kProbeWords - 1);
    const double overhead = static_cast<double>(shortest->prompt_tokens) - rate;
    words_ = std::max<int64_t>(
        1, std::llround((static_cast<double>(o_.prompt_tokens) - overhead) / rate));
    char line[160];
    std::snprintf(line, sizeof(line),
                  "calibrated: %.2f tokens per word, %.1f around the text: %lld words per prompt",
                  rate, overhead, static_cast<long long>(words_));
    say(line);
    return Status();
  }

  Result<HttpBenchLevel> run_level(int64_t c, int64_t n) {
    if (auto warm = control_request("warm-up request", next_index_++, words_, o_.max_tokens);
        !warm.ok()) {
      return warm.status();
    }
    std::vector<std::string> bodies;
    for (int64_t i = 0; i < n; ++i) bodies.push_back(body(next_index_++, words_, o_.max_tokens));
    std::vector<StreamResult> results(static_cast<size_t>(n));
    std::atomic<int64_t> next{0};
    std::latch connected(c);
    std::latch go(1);
    std::vector<std::thread> threads;
    for (int64_t k = 0; k < c; ++k) {
      threads.emplace_back([&] {
        HttpLoadClient client(o_.target, o_.api_key, o_.timeout_s);
        // Connected before the clock starts; a failure here shows up again in post_stream.
        (void)client.connect();
        connected.count_down();
        go.wait();
        for (int64_t i; (i = next.fetch_add(1)) < n;) {
          results[static_cast<size_t>(i)] =
              client.post_stream(endpoint_, bodies[static_cast<size_t>(i)]);
        }
      });
    }
    connected.wait();
    const auto t0 = Clock::now();
    go.count_down();
    for (std::thread& t : threads) t.join();
    HttpBenchLevel l;
    l.concurrency = c;
    l.requests = n;
    l.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();

    std::vector<double> ttft, e2e, gaps;
    std::map<std::string, int64_t> errors;
    int64_t ok = 0, prompt_tokens = 0;
    for (const StreamResult& r : results) {
      if (!r.ok()) {
        ++errors[r.error];
        continue;
      }
      ++ok;
      l.output_tokens += r.completion_tokens;
      prompt_tokens += r.prompt_tokens;
      ttft.push_back(r.ttft_s);
      e2e.push_back(r.e2e_s);
      for (size_t i = 1; i < r.content_times_s.size(); ++i) {
        gaps.push_back(r.content_times_s[i] - r.content_times_s[i - 1]);
      }
    }
    l.errors = n - ok;
    for (const auto& [message, count] : errors) {
      l.error_messages.push_back(count > 1 ? message + " (x" + std::to_string(count) + ")"
                                           : message);
    }
    l.requests_per_s = static_cast<double>(ok) / l.wall_s;
    l.output_tokens_per_s = static_cast<double>(l.output_tokens) / l.wall_s;
    l.prompt_tokens_mean =
        ok > 0 ? static_cast<double>(prompt_tokens) / static_cast<double>(ok) : 0;
    l.ttft_p50_s = percentile(ttft, 0.5);
    l.ttft_p99_s = percentile(ttft, 0.99);
    l.e2e_p50_s = percentile(e2e, 0.5);
    l.e2e_p99_s = percentile(e2e, 0.99);
    l.itl_mean_s = mean(gaps);
    return l;
  }

  const HttpBenchOptions& o_;
  const std::function<void(const std::string&)>& progress_;
  HttpLoadClient control_;  // model list, calibration, warm-ups
  std::string endpoint_;
  std::string model_;
  int64_t words_ = 0;
  uint64_t next_index_ = 0;  // request index across the run: every prompt differs
};

}  // namespace

HttpBenchRun run_http_bench(const HttpBenchOptions& options,
                            const std::function<void(const std::string&)>& progress) {
  return Runner(options, progress).run();
}

nlohmann::ordered_json http_bench_json(const HttpBenchOptions& o, const HttpBenchRun& run) {
  nlohmann::ordered_json levels = nlohmann::ordered_json::array();
  for (const HttpBenchLevel& l : run.levels) {
    levels.push_back({
        {"concurrency", l.concurrency},
        {"requests", l.requests},
        {"errors", l.errors},
        {"wall_s", l.wall_s},
        {"requests_per_s", l.requests_per_s},
        {"output_tokens", l.output_tokens},
        {"output_tokens_per_s", l.output_tokens_per_s},
        {"prompt_tokens_mean", l.prompt_tokens_mean},
        {"ttft_p50_s", l.ttft_p50_s},
        {"ttft_p99_s", l.ttft_p99_s},
        {"e2e_p50_s", l.e2e_p50_s},
        {"e2e_p99_s", l.e2e_p99_s},
        {"itl_mean_s", l.itl_mean_s},
        {"ratio_vs_sequential", l.ratio_vs_sequential
                                    ? nlohmann::ordered_json(*l.ratio_vs_sequential)
                                    : nlohmann::ordered_json(nullptr)},
        {"error_messages", l.error_messages},
    });
  }
  nlohmann::ordered_json doc = {
      {"target", o.target.text()},
      {"model", run.model},
      {"endpoint", run.endpoint},
      {"prompt_tokens", o.prompt_tokens},
      {"words_per_prompt", run.words_per_prompt},
      {"max_tokens", o.max_tokens},
      {"seed", o.seed},
      {"host_cores", std::thread::hardware_concurrency()},
      {"date", run.started},
      {"levels", levels},
  };
  if (!run.stopped.ok()) doc["stopped"] = run.stopped.message();
  return doc;
}

std::string http_bench_markdown(const nlohmann::ordered_json& doc) {
  char line[512];
  std::snprintf(line, sizeof(line),
                "%s, model `%s`, %s: prompt %lld tokens, max_tokens %lld (ignore_eos), "
                "streamed; client host %u cores; %s\n\n",
                doc["target"].get<std::string>().c_str(), doc["model"].get<std::string>().c_str(),
                doc["endpoint"].get<std::string>().c_str(),
                static_cast<long long>(doc["prompt_tokens"].get<int64_t>()),
                static_cast<long long>(doc["max_tokens"].get<int64_t>()),
                doc["host_cores"].get<unsigned>(), doc["date"].get<std::string>().c_str());
  std::string md = line;
  md +=
      "| concurrency | requests | errors | req/s | output tok/s | TTFT p50 (s) | TTFT p99 (s) "
      "| e2e p50 (s) | e2e p99 (s) | ITL mean (ms) | prompt tokens (mean) | tok/s vs sequential |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& l : doc["levels"]) {
    char ratio[32] = "-";
    if (!l["ratio_vs_sequential"].is_null()) {
      std::snprintf(ratio, sizeof(ratio), "%.2f", l["ratio_vs_sequential"].get<double>());
    }
    std::snprintf(
        line, sizeof(line),
        "| %lld | %lld | %lld | %.2f | %.1f | %.3f | %.3f | %.3f | %.3f | %.1f | %.1f | %s |\n",
        static_cast<long long>(l["concurrency"].get<int64_t>()),
        static_cast<long long>(l["requests"].get<int64_t>()),
        static_cast<long long>(l["errors"].get<int64_t>()), l["requests_per_s"].get<double>(),
        l["output_tokens_per_s"].get<double>(), l["ttft_p50_s"].get<double>(),
        l["ttft_p99_s"].get<double>(), l["e2e_p50_s"].get<double>(), l["e2e_p99_s"].get<double>(),
        l["itl_mean_s"].get<double>() * 1e3, l["prompt_tokens_mean"].get<double>(), ratio);
    md += line;
  }
  if (doc.contains("stopped")) md += "\nStopped early: " + doc["stopped"].get<std::string>() + "\n";
  return md;
}

}  // namespace trimserve::cli
