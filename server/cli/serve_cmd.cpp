// `trimserve serve`: the daemon. Composition root of DESIGN.md §2: config -> model -> CPU
// engine + KV pool (sized from kvpool.capacity) -> session manager -> scheduler -> engine
// loop thread -> OpenAI-compatible HTTP API and gRPC API. Logs `listening http=HOST:PORT
// grpc=HOST:PORT` once ready; on SIGTERM/SIGINT drains: new API calls are refused (HTTP 503
// with Retry-After, gRPC UNAVAILABLE, gRPC health NOT_SERVING, /ready 503), running requests
// finish for up to server.drain_timeout_s, then it stops and exits 0 (1 when the drain came
// from a failed engine step under engine.on_step_error: exit).
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <string>
#include <thread>

#include "common/logging.h"
#include "config/config_loader.h"
#include "config/validate.h"
#include "engine/cpu/cpu_engine.h"
#include "engine/fault_injecting_engine.h"
#include "engine/model_fingerprint.h"
#include "kvpool/clock.h"
#include "scheduler/engine_loop.h"
#include "scheduler/kv_settings.h"
#include "scheduler/pool_sizing.h"
#include "scheduler/sequence_runner.h"
#include "server/api/daemon_metrics.h"
#include "server/api/openai_routes.h"
#include "server/cli/cli_args.h"
#include "server/cli/commands.h"
#include "server/cli/exit_codes.h"
#include "server/cli/default_model.h"
#include "server/cli/model_bundle.h"
#include "server/grpc/grpc_server.h"
#include "server/grpc/inference_service.h"
#include "server/http/http_server.h"
#include "server/tls/tls_credentials.h"

namespace trimserve::cli {

namespace {

void print_help(std::FILE* out) {
  std::fprintf(out,
      "usage: trimserve serve [--config FILE] [--model DIR] [--host ADDR] [--port N]\n"
      "                       [--grpc-port N]\n\n"
      "Serves the OpenAI-compatible HTTP API (POST /v1/chat/completions, GET /v1/models,\n"
      "/health, /ready; --port, default 8080) and the gRPC API (trimserve.v1.Inference,\n"
      "grpc.health.v1.Health, reflection; --grpc-port, default 50051) on --model, or on the\n"
      "embedded trimchat-6m when none is given. Flags override the config file\n"
      "(deploy/trimserve.example.yaml documents every key). Port 0 picks a free port; the bound\n"
      "ports are logged as `listening http=HOST:PORT grpc=HOST:PORT`. SIGTERM drains for\n"
      "server.drain_timeout_s (new calls get 503 / UNAVAILABLE), then exits 0.\n");
}

Result<DaemonConfig> load(const CliArgs& a) {
  DaemonConfig c;
  if (auto path = a.get("config")) {
    auto loaded = load_config(*path);
    if (!loaded.ok()) return loaded.status();
    c = std::move(*loaded);
  }
  if (auto m = a.get("model")) c.model.path = *m;
  if (auto h = a.get("host")) c.server.host = *h;
  for (auto [flag, field] : {std::pair{"port", &c.server.port},
                              std::pair{"grpc-port", &c.server.grpc_port}}) {
    auto port = a.get_int(flag);
    if (!port.ok()) return port.status();
    if (*port) {
      if (**port < 0 || **port > 65535) {
        return invalid_argument(std::string("--") + flag + " must be in [0, 65535]");
      }
      *field = static_cast<int>(**port);
    }
  }
  TS_RETURN_IF_ERROR(validate(c));
  if (c.model.path.empty()) {
    auto dir = default_model_dir();
    if (!dir.ok()) return dir.status();
    c.model.path = *dir;
  }
  return c;
}

}  // namespace

int serve_main(int argc, char** argv) {
  CliArgs a({"config", "model", "host", "port", "grpc-port"}, {"help"});
  if (Status s = a.parse(argc, argv); !s.ok()) return report("serve", s);
  if (a.has("help")) {
    print_help(stdout);
    return kExitOk;
  }
  auto config = load(a);
  if (!config.ok()) return report("serve", config.status());
  const DaemonConfig& c = *config;
  setup_logging(c.logging.level, c.logging.format);
  auto log = named_logger("serve");

  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // TLS files are checked before the model loads: a bad path fails in a moment, not after it.
  std::shared_ptr<boost::asio::ssl::context> https;
  std::shared_ptr<grpc::ServerCredentials> grpc_credentials = grpc::InsecureServerCredentials();
  if (c.server.tls.enabled) {
    auto creds = tls::load_tls_credentials(c.server.tls.cert_file, c.server.tls.key_file);
    if (!creds.ok()) return report("serve", creds.status());
    auto context = tls::make_ssl_context(*creds);
    if (!context.ok()) return report("serve", context.status());
    https = *context;
    grpc_credentials = grpc_api::tls_server_credentials(*creds);
  }

  auto model = load_model_bundle(c.model.path, /*load_weights=*/true);
  if (!model.ok()) return report("serve", model.status());
  log->info("model loaded from {}", c.model.path);
  const ModelConfig& mc = model->weights->config;
  const int64_t max_model_len =
      c.model.max_model_len > 0 ? std::min(c.model.max_model_len, mc.max_position_embeddings)
                                : mc.max_position_embeddings;
  auto kv = resolve_config_kv(c.kvpool, mc);
  if (!kv.ok()) return report("serve", kv.status());

  const int64_t lanes = mc.num_hidden_layers * mc.num_key_value_heads;
  const int64_t b = c.kvpool.page_size;
  const int64_t one_sequence =
      pages_for_one_sequence(*kv, max_model_len, c.engine.prefill_chunk, lanes, b);
  auto available = host_available_bytes();
  auto sizing = size_pool(c.kvpool.capacity, b, mc.head_dim, sizeof(float),
                          available.ok() ? *available : 0, one_sequence);
  if (!sizing.ok()) return report("serve", sizing.status());
  // More pages than every running sequence at full context can use is memory for nothing.
  const int64_t useful = c.scheduler.max_running_seqs * lanes * ((max_model_len + b - 1) / b);
  const int64_t pages = std::min(sizing->num_pages, std::max(useful, one_sequence));
  log->info("kv pool: {} pages of {} entries ({} MiB){}", pages, b,
            pages * sizing->page_bytes >> 20,
            pages < sizing->num_pages ? " (capped at what max_running_seqs can use)" : "");

  cpu::CpuEngineOptions eo;
  eo.num_threads = c.engine.threads;
  eo.num_pages = pages;
  eo.page_size = b;
  auto engine = cpu::CpuEngine::create(model->weights, eo);
  if (!engine.ok()) return report("serve", engine.status());
  Engine* serving_engine = engine->get();
  std::unique_ptr<FaultInjectingEngine> fault_injection;  // a test hook, off unless asked for
  if (const char* trigger = std::getenv("TRIMSERVE_FAULT_INJECTION_FILE"); trigger && *trigger) {
    fault_injection = std::make_unique<FaultInjectingEngine>(*serving_engine, trigger);
    serving_engine = fault_injection.get();
    log->warn("engine fault injection armed (test hook): steps fail when {} appears", trigger);
  }
  KvPoolOptions po;
  po.num_pages = pages;
  po.page_size = b;
  po.num_layers = mc.num_hidden_layers;
  po.num_kv_heads = mc.num_key_value_heads;
  po.idle_decay_per_s = c.kvpool.idle_decay_per_s;
  auto pool = KvPool::create(po);
  if (!pool.ok()) return report("serve", pool.status());

  SteadyClock clock;
  SessionManagerOptions so;
  so.limits.max_sessions_per_tenant = c.kvpool.sessions.max_per_tenant;
  so.limits.ttl_s = c.kvpool.sessions.ttl_s;
  for (const DaemonConfig::Tenant& t : c.tenants) {
    if (t.limits.max_sessions > 0) so.limits.max_sessions_by_tenant[t.name] = t.limits.max_sessions;
  }
  PoolSizing actual = *sizing;
  actual.num_pages = pages;
  so.idle = idle_memory_limits(c.kvpool, actual);
  so.dir = c.kvpool.sessions.dir;
  so.model_fingerprint = model_fingerprint(*model->weights);
  auto sessions = SessionManager::create(*serving_engine, **pool, clock, so);
  if (!sessions.ok()) return report("serve", sessions.status());

  SchedulerOptions sched;
  sched.max_batched_tokens = c.scheduler.max_batched_tokens;
  sched.max_running = c.scheduler.max_running_seqs;
  sched.quantum_tokens = c.scheduler.fairness_quantum_tokens;
  sched.prefill_chunk = c.engine.prefill_chunk;
  std::vector<TenantSchedule> tenants;
  for (size_t i = 0; i < c.tenants.size(); ++i) {
    const DaemonConfig::Tenant& t = c.tenants[i];
    // kv_share of the pool, in whole pages; a share too small for one sequence at the model's
    // budget would refuse every request of the tenant, so it is a configuration error.
    int64_t max_pages = 0;
    if (t.limits.kv_share < 1.0) {
      max_pages = static_cast<int64_t>(t.limits.kv_share * static_cast<double>(pages));
      if (max_pages < one_sequence) {
        return report("serve", invalid_argument(fmt::format(
                                   "tenants[{}].limits.kv_share: {} of the pool is {} pages, less "
                                   "than one sequence needs ({} pages)",
                                   i, t.limits.kv_share, max_pages, one_sequence)));
      }
    }
    tenants.push_back({t.name, t.weight, t.priority, t.limits.max_concurrent, max_pages});
  }
  if (tenants.empty()) tenants.push_back({"default", 1.0, 0, 0, 0});
  auto scheduler = Scheduler::create(sched, tenants, clock);
  if (!scheduler.ok()) return report("serve", scheduler.status());

  EngineLoop loop(*serving_engine, **pool, **sessions, **scheduler, *model->tokenizer,
                  model->eos_token_ids);
  // engine.on_step_error: the loop fails the step's requests either way; `exit` then wakes
  // the main thread (blocked in sigwait below) as a SIGTERM would, and serve exits 1.
  std::atomic<bool> engine_failed{false};
  const pthread_t main_thread = pthread_self();
  const bool exit_on_step_error = c.engine.on_step_error == DaemonConfig::Engine::OnStepError::kExit;
  loop.set_step_error_policy(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(c.engine.step_error_unready_s)),
      [&log, &engine_failed, main_thread, exit_on_step_error](const Status& error) {
        log->error("{}; the requests in the step got the error{}", error.message(),
                   exit_on_step_error ? "; exiting (engine.on_step_error: exit)" : "");
        if (exit_on_step_error && !engine_failed.exchange(true)) {
          pthread_kill(main_thread, SIGTERM);
        }
      });
  loop.start();

  std::atomic<bool> draining{false};
  api::Tenants api_tenants(c.tenants, clock);
  api::ServingContext ctx;
  ctx.served_model = c.model.served_name.empty()
                         ? std::filesystem::path(c.model.path).lexically_normal().filename().string()
                         : c.model.served_name;
  if (ctx.served_model.empty()) {
    ctx.served_model = std::filesystem::path(c.model.path).lexically_normal().parent_path().filename().string();
  }
  api::DaemonMetrics metrics(loop, ctx.served_model);
  ctx.model = &mc;
  ctx.tokenizer = model->tokenizer.get();
  ctx.chat_template = model->chat_template ? &*model->chat_template : nullptr;
  ctx.max_model_len = max_model_len;
  ctx.max_prompt_tokens = c.server.limits.max_prompt_tokens;
  ctx.max_queue = c.server.limits.max_queue;
  ctx.default_kv = *kv;
  ctx.loop = &loop;
  ctx.tenants = &api_tenants;
  ctx.metrics = &metrics;
  ctx.observer = [&metrics](const api::CallRecord& r) { metrics.record(r); };
  ctx.request_timeout_s = c.server.limits.request_timeout_s;
  ctx.ready = [&draining, &loop] { return !draining.load() && loop.healthy(); };
  ctx.accepting = [&draining] { return !draining.load(); };
  api::OpenAiRoutes routes(ctx);

  http::HttpLimits limits;
  limits.max_body_bytes = c.server.limits.max_body_bytes;
  limits.max_header_bytes = c.server.limits.max_header_bytes;
  limits.read_timeout_s = c.server.limits.read_timeout_s;
  limits.idle_timeout_s = c.server.limits.idle_timeout_s;
  limits.max_connections = c.server.limits.max_connections;
  http::HttpServer server(
      [&routes](http::HttpRequest r, std::shared_ptr<http::ResponseWriter> w) {
        routes.handle(std::move(r), std::move(w));
      },
      limits, std::max(2u, std::min(8u, std::thread::hardware_concurrency())), https,
      [&metrics](int status) { metrics.transport_error(status); });
  if (Status s = server.listen(c.server.host, c.server.port); !s.ok()) {
    loop.stop();
    return report("serve", s);
  }
  grpc_api::InferenceService grpc_service(ctx);
  auto grpc_server = grpc_api::GrpcServer::start(c.server.host, c.server.grpc_port, grpc_service,
                                                 c.server.limits.max_body_bytes, grpc_credentials);
  if (!grpc_server.ok()) {
    loop.stop();
    server.stop();
    return report("serve", grpc_server.status());
  }
  (*grpc_server)->follow_readiness(ctx.ready);
  log->info("listening http={}:{} grpc={} model={} policy={} budget={} tls={}", c.server.host,
            server.port(), grpc_api::grpc_address(c.server.host, (*grpc_server)->port()),
            ctx.served_model, kv_policy_name(kv->policy), kv->budget,
            c.server.tls.enabled ? "on" : "off");

  int signal = 0;
  sigwait(&stop_signals, &signal);
  if (engine_failed) {
    log->info("engine failure: draining for up to {} s, then exiting 1", c.server.drain_timeout_s);
  } else {
    log->info("signal {}: draining for up to {} s", signal, c.server.drain_timeout_s);
  }
  draining = true;
  server.drain();
  (*grpc_server)->set_serving(false);
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration<double>(c.server.drain_timeout_s);
  // A request admitted just before the signal may not show in in_flight yet (stats are
  // published after each loop iteration): only a count from an iteration that began after the
  // signal is trusted.
  const int64_t seen = loop.stats().iterations;
  while (std::chrono::steady_clock::now() < deadline) {
    const EngineLoopStats s = loop.stats();
    if (s.iterations >= seen + 2 && s.in_flight == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // The engine is done with every request, but the last bytes of a response (an SSE [DONE],
  // an error event) may still be on their way out: HTTP connections close once their response
  // is written (they are draining), so wait for them too — a few seconds at most, since
  // clients still connecting (to be told 503) would otherwise hold the exit to the deadline.
  const auto written_by = std::min<decltype(deadline)>(
      deadline, std::chrono::steady_clock::now() + std::chrono::seconds(3));
  while (std::chrono::steady_clock::now() < written_by && server.num_connections() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  loop.stop();  // anything still running gets "the server is shutting down"
  (*grpc_server)->shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server.stop();
  log->info("stopped");
  return engine_failed ? kExitRuntime : kExitOk;
}

}  // namespace trimserve::cli
