#include "server/cli/session_turns.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>

#include "engine/model_fingerprint.h"
#include "kvpool/clock.h"
#include "scheduler/session_manager.h"
#include "server/cli/exit_codes.h"
#include "server/cli/generation_loop.h"

namespace trimserve::cli {

namespace {

// The message a stdin line adds to the conversation.
Result<nlohmann::ordered_json> parse_turn(const std::string& line) {
  auto j = nlohmann::ordered_json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return invalid_argument("not valid JSON");
  if (j.is_string()) return nlohmann::ordered_json{{"role", "user"}, {"content", j}};
  if (j.is_object() && j.contains("role") && j["role"].is_string() && j.contains("content")) return j;
  return invalid_argument("expected a JSON string or a {\"role\", \"content\"} object");
}

std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

int run_session_turns(const GenerateOptions& opt, const ModelBundle& model) {
  const ModelConfig& mc = model.weights->config;
  // The whole conversation must fit the model; size the pool for that.
  auto ctx = make_generation_context(model, opt, mc.max_position_embeddings);
  if (!ctx.ok()) return report("generate", ctx.status());
  SteadyClock clock;
  SessionManagerOptions so;
  so.dir = opt.session_dir.value_or("");
  so.model_fingerprint = model_fingerprint(*model.weights);
  auto sessions = SessionManager::create(*ctx->engine, *ctx->pool, clock, so);
  if (!sessions.ok()) return report("generate", sessions.status());
  SessionManager& manager = **sessions;
  const SessionKey key{"cli", *opt.session_id};
  SequenceRunnerOptions ro;
  ro.kv = opt.kv;
  ro.prefill_chunk = opt.prefill_chunk;

  nlohmann::ordered_json conversation = nlohmann::ordered_json::array();
  int rc = kExitOk;
  int64_t turn = 0;
  std::string line;
  for (int64_t lineno = 1; std::getline(std::cin, line); ++lineno) {
    if (line.empty()) continue;
    auto fail = [&](const Status& s) {
      std::fprintf(stderr, "trimserve generate: line %lld: %s\n", static_cast<long long>(lineno),
                   s.message().c_str());
      rc = std::max(rc, exit_code_for(s));
    };
    auto message = parse_turn(line);
    if (!message.ok()) {
      fail(message.status());
      continue;
    }
    if ((*message)["role"] == "assistant") {
      conversation.push_back(*message);
      continue;
    }
    nlohmann::ordered_json next = conversation;
    next.push_back(*message);
    auto prompt = encode_chat(opt, model, next);
    if (!prompt.ok()) {
      fail(prompt.status());
      continue;
    }
    if (Status s = check_context_length(opt, model, prompt->size()); !s.ok()) {
      fail(s);
      continue;
    }
    auto started = manager.begin_turn(key, *prompt, static_cast<SeqId>(lineno), opt.kv);
    if (!started.ok()) {
      fail(started.status());
      continue;
    }
    auto runner = SequenceRunner::resume(*ctx->engine, *ctx->pool, started->seq, ro);
    if (!runner.ok()) {
      fail(runner.status());
      (void)manager.abort_turn(key);
      continue;
    }
    runner->detach();  // the session owns the sequence between turns
    const int64_t cached = started->cached_tokens;
    auto g = generate(*runner, model, opt, *prompt, cached, /*stream=*/false);
    if (!g.ok()) {
      fail(g.status());
      (void)manager.abort_turn(key);  // the next turn starts afresh (or from its file)
      continue;
    }
    // The session's history is what was fed: the prompt and every generated token but the
    // last (sampled, never fed).
    std::vector<int32_t> history = g->prompt;
    history.insert(history.end(), g->output.begin(), g->output.end() - 1);
    if (Status s = manager.end_turn(key, std::move(history)); !s.ok()) {
      return report("generate", s);  // a bookkeeping bug, not bad input
    }
    conversation = std::move(next);
    conversation.push_back({{"role", "assistant"}, {"content", g->text}});
    ++turn;
    const nlohmann::ordered_json out = {
        {"turn", turn},
        {"text", g->text},
        {"prompt_tokens", g->prompt.size()},
        {"cached_tokens", cached},
        {"cache", started->from_disk ? "disk" : started->resumed ? "memory" : "new"},
        {"completion_tokens", g->output.size()},
        {"finish_reason", finish_reason_name(g->finish)},
        {"kv", {{"retained", g->kv.retained}, {"offered", g->kv.offered}}}};
    std::printf("%s\n", dump(out).c_str());
    std::fflush(stdout);
  }
  return rc;
}

}  // namespace trimserve::cli
