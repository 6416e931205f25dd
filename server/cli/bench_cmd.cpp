// `trimserve bench sessions|batching|http`: the benchmarks.
//
// sessions: the multi-turn session benchmark (server/cli/session_bench.h). Runs the same
// scripted conversations three ways — the policy with unlimited memory, the
// policy in a pool of --pool-fraction of the full-cache size, and the same with session files
// (--session-dir write-through) — measures each one's drift from policy full with unlimited
// memory, and writes results.json and results.md to --out (the table is printed too).
// batching: continuous batching's throughput against sequential (server/cli/batching_bench.h).
// http: load against a running server over HTTP, measured as a client sees it
// (server/cli/http_bench.h).
// Benchmarks, not tests: nothing here asserts; they report.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/cli/cli_args.h"
#include "server/cli/commands.h"
#include "server/cli/exit_codes.h"
#include "server/cli/kv_flags.h"
#include "server/cli/model_bundle.h"
#include "server/cli/batching_bench.h"
#include "server/cli/http_bench.h"
#include "server/cli/result_files.h"
#include "server/cli/session_bench.h"

namespace trimserve::cli {

namespace {

void print_help(std::FILE* out) {
  std::fprintf(out,
      "usage: trimserve bench sessions --model DIR [options]\n"
      "       trimserve bench batching --model DIR [--requests N] [--prompt-tokens N]\n"
      "                                [--output-tokens N] [--threads N] [--out DIR]\n"
      "       trimserve bench http --target HOST:PORT [options]   ('bench http --help')\n\n"
      "batching: the same requests at concurrency 1/8/32/64 through the engine loop: req/s,\n"
      "output tok/s, TTFT p50/p99 and throughput against sequential.\n\n"
      "http: streamed completions against a running OpenAI-compatible server at concurrency\n"
      "1/8/32/64: req/s, output tok/s, TTFT and latency p50/p99, throughput against sequential.\n\n"
      "sessions:\n"
      "N scripted conversations of T turns share one KV pool a fraction of their full-cache size.\n"
      "Reports cache hits, cached-token ratio, resident sessions, evictions by reason and the\n"
      "drift (mean KL per generated token) from policy full with unlimited memory.\n\n"
      "  --model DIR              Hugging Face model directory\n"
      "  --conversations N (8)    --turns T (20)  --user-tokens N (48)  --reply-tokens N (16)\n"
      "  --pool-fraction F (0.1)  pool size relative to all conversations' full caches\n"
      "  --idle-decay F (0.01)    kvpool.idle_decay_per_s   --think-time S (5) virtual s per turn\n"
      "  --kv-policy, --kv-budget, --kv-buffer, --window-sinks, --floor-ratio  as for generate\n"
      "  --page-size N (16)  --prefill-chunk N (64)  --threads N (0 = all)  --seed N (1)\n"
      "  --out DIR (bench-results/sessions)  results.json, results.md\n");
}

nlohmann::ordered_json to_json(const SessionBenchResult& r) {
  const SessionBenchOptions& o = r.options;
  nlohmann::ordered_json evicted;
  for (int i = 0; i < kNumEvictionReasons; ++i) {
    evicted[eviction_reason_name(static_cast<EvictionReason>(i))] =
        r.stats.pool.evicted[static_cast<size_t>(i)];
  }
  const int64_t later_turns = r.turns - o.conversations;
  return {
      {"name", o.name},
      {"conversations", o.conversations},
      {"turns_each", o.turns},
      {"kv_policy", kv_policy_name(o.kv.policy)},
      {"kv_budget", o.kv.budget},
      {"pool_pages", r.pool_pages},
      {"full_cache_pages", r.full_cache_pages},
      {"pool_fraction", static_cast<double>(r.pool_pages) / static_cast<double>(r.full_cache_pages)},
      {"turns", r.turns},
      {"failed_turns", r.failed_turns},
      {"memory_hits", r.memory_hits},
      {"disk_hits", r.disk_hits},
      {"misses", r.misses},
      {"hit_rate", later_turns > 0 ? static_cast<double>(r.memory_hits + r.disk_hits) /
                                         static_cast<double>(later_turns)
                                   : 0.0},
      {"prompt_tokens", r.prompt_tokens},
      {"cached_tokens", r.cached_tokens},
      {"cached_tokens_ratio",
       static_cast<double>(r.cached_tokens) / static_cast<double>(r.prompt_tokens)},
      {"mean_resident_sessions", r.mean_resident_sessions},
      {"resident_sessions_at_end", r.stats.sessions.num_sessions},
      {"sessions_dropped_under_pressure", r.stats.sessions.evicted_pressure},
      {"evicted_entries", evicted},
      {"disk", {{"files", r.stats.disk_files}, {"bytes", r.stats.disk_bytes},
                {"saves", r.stats.disk_saves}, {"loads", r.stats.disk_loads}}},
      {"mean_kl_vs_full", r.mean_kl},
      {"max_kl_vs_full", r.max_kl},
      {"top1_agreement_vs_full", r.top1_agreement},
      {"wall_s", r.wall_s},
      {"tokens_per_s", r.tokens_per_s},
  };
}

std::string markdown(const std::vector<nlohmann::ordered_json>& rows) {
  std::string md =
      "| run | pool / full cache | hit rate | cached / prompt tokens | resident sessions (mean) "
      "| sessions dropped | evicted: budget | global_pressure | session_limit | disk loads "
      "| mean KL vs full | top-1 = full | tok/s |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  char line[1024];
  for (const auto& j : rows) {
    std::snprintf(line, sizeof(line),
                  "| %s | %.3f | %.3f | %.3f | %.2f | %lld | %lld | %lld | %lld | %lld | %.5f "
                  "| %.3f | %.0f |\n",
                  j["name"].get<std::string>().c_str(), j["pool_fraction"].get<double>(),
                  j["hit_rate"].get<double>(), j["cached_tokens_ratio"].get<double>(),
                  j["mean_resident_sessions"].get<double>(),
                  static_cast<long long>(j["sessions_dropped_under_pressure"].get<int64_t>()),
                  static_cast<long long>(j["evicted_entries"]["budget"].get<int64_t>()),
                  static_cast<long long>(j["evicted_entries"]["global_pressure"].get<int64_t>()),
                  static_cast<long long>(j["evicted_entries"]["session_limit"].get<int64_t>()),
                  static_cast<long long>(j["disk"]["loads"].get<int64_t>()),
                  j["mean_kl_vs_full"].get<double>(), j["top1_agreement_vs_full"].get<double>(),
                  j["tokens_per_s"].get<double>());
    md += line;
  }
  return md;
}

int run_batching(int argc, char** argv) {
  CliArgs a({"model", "requests", "prompt-tokens", "output-tokens", "threads", "out"}, {"help"});
  if (Status s = a.parse(argc, argv); !s.ok()) return report("bench", s);
  if (a.has("help") || !a.has("model")) {
    std::fprintf(a.has("help") ? stdout : stderr,
                 "usage: trimserve bench batching --model DIR [--requests N (64)] "
                 "[--prompt-tokens N (64)] [--output-tokens N (32)] [--threads N] [--out DIR]\n");
    return a.has("help") ? kExitOk : kExitUsage;
  }
  BatchingBenchOptions o;
  int64_t threads = 0;
  for (auto [flag, dst] : {std::pair{"requests", &o.requests}, {"prompt-tokens", &o.prompt_tokens},
                           {"output-tokens", &o.output_tokens}, {"threads", &threads}}) {
    if (Status s = a.read_int(flag, *dst); !s.ok()) return report("bench", s);
  }
  o.threads = static_cast<int>(threads);
  auto model = load_model_bundle(*a.get("model"), /*load_weights=*/true);
  if (!model.ok()) return report("bench", model.status());
  auto levels = run_batching_bench(*model, o);
  if (!levels.ok()) return report("bench", levels.status());
  std::string md =
      "| concurrency | req/s | output tok/s | TTFT p50 (s) | TTFT p99 (s) | max batch | "
      "tok/s vs sequential |\n|---|---|---|---|---|---|---|\n";
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  char line[256];
  for (const BatchingLevel& l : *levels) {
    std::snprintf(line, sizeof(line), "| %lld | %.2f | %.1f | %.3f | %.3f | %lld | %.2f |\n",
                  static_cast<long long>(l.concurrency), l.requests_per_s, l.output_tokens_per_s,
                  l.ttft_p50_s, l.ttft_p99_s, static_cast<long long>(l.max_batch),
                  l.ratio_vs_sequential);
    md += line;
    rows.push_back({{"concurrency", l.concurrency}, {"requests_per_s", l.requests_per_s},
                    {"output_tokens_per_s", l.output_tokens_per_s}, {"ttft_p50_s", l.ttft_p50_s},
                    {"ttft_p99_s", l.ttft_p99_s}, {"max_batch", l.max_batch},
                    {"ratio_vs_sequential", l.ratio_vs_sequential}});
  }
  const std::filesystem::path out = a.get_or("out", "bench-results/batching");
  Status written = make_output_dir(out);
  if (written.ok()) {
    written = write_text_file(
        out / "results.json",
        nlohmann::ordered_json{{"model", *a.get("model")}, {"levels", rows}}.dump(2) + "\n");
  }
  if (written.ok()) written = write_text_file(out / "results.md", md);
  std::printf("%s", md.c_str());
  if (!written.ok()) return report("bench", written);
  return kExitOk;
}

void print_http_help(std::FILE* out) {
  std::fprintf(out,
      "usage: trimserve bench http --target HOST:PORT [--api-key KEY] [--model NAME]\n"
      "                            [--concurrency 1,8,32,64] [--requests N] [--prompt-tokens P]\n"
      "                            [--max-tokens M] [--endpoint completions|chat] [--out DIR]\n"
      "                            [--name NAME] [--timeout S] [--seed N] [--json]\n\n"
      "Load against a running OpenAI-compatible server (trimserve serve or another), measured\n"
      "on the client side: per concurrency level C, one warm-up request, then N streamed\n"
      "requests (temperature 0, ignore_eos: exactly M tokens each) with exactly C in flight on\n"
      "C kept-alive connections. Prints a markdown table: requests, errors, req/s, output tok/s,\n"
      "TTFT p50/p99, end-to-end p50/p99, mean inter-token latency, and output tok/s against\n"
      "concurrency 1 of the same run (batched vs sequential).\n\n"
      "  --target HOST:PORT       the server (http:// prefix allowed; no TLS)\n"
      "  --api-key KEY            sent as Authorization: Bearer KEY\n"
      "  --model NAME             default: the first id of GET /v1/models\n"
      "  --concurrency LIST (1,8,32,64)  comma-separated levels, run in order\n"
      "  --requests N             per level; default max(16, 4*C); at least the largest C\n"
      "  --prompt-tokens P (64)   prompt length; seeded words, calibrated to the server's\n"
      "                           tokenizer with two probe requests, different per request\n"
      "  --max-tokens M (32)      tokens generated per request\n"
      "  --endpoint E (completions)  completions: /v1/completions; chat: /v1/chat/completions\n"
      "  --out DIR                also write DIR/NAME.json and DIR/NAME.md\n"
      "  --name NAME (http-bench) file name stem for --out\n"
      "  --timeout S (600)        seconds one connect, write or read may wait for the server\n"
      "  --seed N (1)             prompt seed\n"
      "  --json                   print the JSON document instead of the table\n\n"
      "Exit: 0 all requests succeeded; 1 some failed (listed on stderr, results still\n"
      "written) or the server could not be reached; 2 bad usage.\n");
}

int run_http(int argc, char** argv) {
  CliArgs a({"target", "api-key", "model", "concurrency", "requests", "prompt-tokens",
             "max-tokens", "endpoint", "out", "name", "timeout", "seed"},
            {"json", "help"});
  if (Status s = a.parse(argc, argv); !s.ok()) return report("bench", s);
  if (a.has("help")) {
    print_http_help(stdout);
    return kExitOk;
  }
  if (!a.has("target")) return report("bench", invalid_argument("--target HOST:PORT is required"));
  HttpBenchOptions o;
  auto target = parse_http_target(*a.get("target"));
  if (!target.ok()) return report("bench", target.status());
  o.target = *target;
  o.api_key = a.get_or("api-key", "");
  o.model = a.get_or("model", "");
  auto levels = a.get_int_list("concurrency");
  if (!levels.ok()) return report("bench", levels.status());
  if (*levels) o.concurrency = **levels;
  int64_t seed = 1;
  for (auto [flag, dst] : {std::pair{"requests", &o.requests}, {"prompt-tokens", &o.prompt_tokens},
                           {"max-tokens", &o.max_tokens}, {"seed", &seed}}) {
    if (Status s = a.read_int(flag, *dst); !s.ok()) return report("bench", s);
  }
  if (Status s = a.read_double("timeout", o.timeout_s); !s.ok()) return report("bench", s);
  int64_t largest = 0;
  for (int64_t c : o.concurrency) {
    // One thread and one connection per client: beyond a few thousand this measures the
    // client machine, not the server.
    if (c < 1 || c > 4096) {
      return report("bench", invalid_argument("--concurrency: levels must be in [1, 4096], got " +
                                              std::to_string(c)));
    }
    largest = std::max(largest, c);
  }
  if (a.has("requests") && o.requests < largest) {
    return report("bench", invalid_argument("--requests " + std::to_string(o.requests) +
                                            " is below concurrency " + std::to_string(largest) +
                                            ": every client needs a request"));
  }
  if (o.prompt_tokens < 1 || o.max_tokens < 1 || seed < 0 || !(o.timeout_s > 0)) {
    return report("bench", invalid_argument("--prompt-tokens and --max-tokens must be >= 1, "
                                            "--seed >= 0, --timeout > 0"));
  }
  o.seed = static_cast<uint64_t>(seed);
  const std::string endpoint = a.get_or("endpoint", "completions");
  if (endpoint != "completions" && endpoint != "chat") {
    return report("bench", invalid_argument("--endpoint: expected completions or chat, got '" +
                                            endpoint + "'"));
  }
  o.chat = endpoint == "chat";
  const std::string name = a.get_or("name", "http-bench");
  if (name.empty() || name.find('/') != std::string::npos) {
    return report("bench",
                  invalid_argument("--name: expected a file name stem, got '" + name + "'"));
  }
  std::filesystem::path out;
  if (a.has("out")) {
    out = *a.get("out");
    if (Status s = make_output_dir(out); !s.ok()) return report("bench", s);
  }

  const HttpBenchRun run = run_http_bench(
      o, [](const std::string& line) { std::fprintf(stderr, "bench: %s\n", line.c_str()); });
  if (run.levels.empty() && !run.stopped.ok()) return report("bench", run.stopped);
  const nlohmann::ordered_json doc = http_bench_json(o, run);
  const std::string md = http_bench_markdown(doc);
  if (!out.empty()) {
    const std::filesystem::path json_file = out / (name + ".json"), md_file = out / (name + ".md");
    if (Status s = write_text_file(json_file, doc.dump(2) + "\n"); !s.ok()) return report("bench", s);
    if (Status s = write_text_file(md_file, md); !s.ok()) return report("bench", s);
    std::fprintf(stderr, "bench: wrote %s and %s\n", json_file.string().c_str(),
                 md_file.string().c_str());
  }
  std::printf("%s", a.has("json") ? (doc.dump(2) + "\n").c_str() : md.c_str());
  std::fflush(stdout);
  int64_t failed = 0;
  for (const HttpBenchLevel& l : run.levels) {
    failed += l.errors;
    for (const std::string& m : l.error_messages) {
      std::fprintf(stderr, "trimserve bench: concurrency %lld: %lld of %lld requests failed: %s\n",
                   static_cast<long long>(l.concurrency), static_cast<long long>(l.errors),
                   static_cast<long long>(l.requests), m.c_str());
    }
  }
  if (!run.stopped.ok()) return report("bench", run.stopped);
  return failed > 0 ? kExitRuntime : kExitOk;
}

int run_sessions(int argc, char** argv) {
  std::vector<std::string> value_flags{"model",       "conversations", "turns",       "user-tokens",
                                       "reply-tokens", "pool-fraction", "idle-decay",  "think-time",
                                       "page-size",   "prefill-chunk", "threads",     "seed",
                                       "out"};
  for (const char* f : kKvValueFlags) value_flags.push_back(f);
  CliArgs a(value_flags, {"help"});
  if (Status s = a.parse(argc, argv); !s.ok()) return report("bench", s);
  if (a.has("help")) {
    print_help(stdout);
    return kExitOk;
  }
  if (!a.has("model")) return report("bench", invalid_argument("--model DIR is required"));
  SessionBenchOptions o;
  int64_t threads = 0, seed = 1;
  for (auto [flag, dst] : {std::pair{"conversations", &o.conversations}, {"turns", &o.turns},
                           {"user-tokens", &o.user_tokens}, {"reply-tokens", &o.reply_tokens},
                           {"page-size", &o.page_size}, {"prefill-chunk", &o.prefill_chunk},
                           {"threads", &threads}, {"seed", &seed}}) {
    if (Status s = a.read_int(flag, *dst); !s.ok()) return report("bench", s);
  }
  for (auto [flag, dst] : {std::pair{"pool-fraction", &o.pool_fraction},
                           {"idle-decay", &o.idle_decay_per_s}, {"think-time", &o.think_time_s}}) {
    if (Status s = a.read_double(flag, *dst); !s.ok()) return report("bench", s);
  }
  if (!(o.pool_fraction > 0.0 && o.pool_fraction <= 1.0)) {
    return report("bench", invalid_argument("--pool-fraction must be in (0, 1]"));
  }
  o.threads = static_cast<int>(threads);
  o.seed = static_cast<uint64_t>(seed);
  auto model = load_model_bundle(*a.get("model"), /*load_weights=*/true);
  if (!model.ok()) return report("bench", model.status());
  auto kv = resolve_kv_config(a, model->weights->config);
  if (!kv.ok()) return report("bench", kv.status());
  o.kv = *kv;
  const std::filesystem::path out = a.get_or("out", "bench-results/sessions");
  if (Status s = make_output_dir(out); !s.ok()) return report("bench", s);

  const double fraction = o.pool_fraction;
  std::vector<SessionBenchOptions> runs;
  o.name = std::string(kv_policy_name(o.kv.policy)) + ", unlimited memory";
  o.pool_fraction = 0;
  runs.push_back(o);
  o.name = std::string(kv_policy_name(o.kv.policy)) + ", pool " + std::to_string(fraction).substr(0, 4);
  o.pool_fraction = fraction;
  runs.push_back(o);
  o.name += " + session files";
  o.session_dir = (out / "session-files").string();
  std::error_code ec;  // a leftover directory that cannot be removed fails the run below
  std::filesystem::remove_all(o.session_dir, ec);
  runs.push_back(o);

  std::vector<nlohmann::ordered_json> rows;
  for (const SessionBenchOptions& run : runs) {
    std::fprintf(stderr, "bench: %s ...\n", run.name.c_str());
    auto r = run_session_bench(model->weights, run);
    if (!r.ok()) return report("bench", r.status());
    if (Status s = measure_drift(model->weights, *r); !s.ok()) return report("bench", s);
    rows.push_back(to_json(*r));
  }
  std::filesystem::remove_all(out / "session-files", ec);
  nlohmann::ordered_json all = {{"model", *a.get("model")}, {"runs", rows}};
  const std::string md = markdown(rows);
  std::printf("%s", md.c_str());
  if (Status s = write_text_file(out / "results.json", all.dump(2) + "\n"); !s.ok()) {
    return report("bench", s);
  }
  if (Status s = write_text_file(out / "results.md", md); !s.ok()) return report("bench", s);
  std::fprintf(stderr, "bench: wrote %s and %s\n", (out / "results.json").string().c_str(),
               (out / "results.md").string().c_str());
  return kExitOk;
}

}  // namespace

int bench_main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    print_help(argc < 2 ? stderr : stdout);
    return argc < 2 ? kExitUsage : kExitOk;
  }
  if (std::string(argv[1]) == "batching") return run_batching(argc - 1, argv + 1);
  if (std::string(argv[1]) == "http") return run_http(argc - 1, argv + 1);
  if (std::string(argv[1]) != "sessions") {
    return report("bench", invalid_argument(std::string("unknown benchmark '") + argv[1] +
                                                "' (expected: sessions, batching, http)"));
  }
  return run_sessions(argc - 1, argv + 1);
}

}  // namespace trimserve::cli
